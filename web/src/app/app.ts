import { Component, DestroyRef, Injector, inject, signal } from '@angular/core';
import { NavigationEnd, Router, RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { filter } from 'rxjs';
import { focusAfterRender } from './shared/focus';
import { ReauthDialog } from './shared/reauth-dialog';

/**
 * The frame of every page: skip link, header, the focus moved to the new page's
 * heading, and the re-authentication dialog any request may open.
 */
@Component({
  selector: 'app-root',
  imports: [RouterOutlet, RouterLink, RouterLinkActive, ReauthDialog],
  template: `
    <a class="skip-link" href="#main">Skip to content</a>
    <header class="site-header">
      <a class="brand" routerLink="/">TwoFA</a>
      @if (signedInArea()) {
        <nav aria-label="Account">
          <a routerLink="/security" routerLinkActive="current" [routerLinkActiveOptions]="{ exact: true }"
             ariaCurrentWhenActive="page">Security</a>
          <a routerLink="/security/log" routerLinkActive="current" ariaCurrentWhenActive="page">Security log</a>
        </nav>
      }
    </header>
    <main id="main" tabindex="-1">
      <router-outlet />
    </main>
    <app-reauth-dialog />
  `,
})
export class App {
  private readonly router = inject(Router);
  protected readonly signedInArea = signal(false);

  constructor() {
    const injector = inject(Injector);
    let first = true;
    const subscription = this.router.events
      .pipe(filter((event): event is NavigationEnd => event instanceof NavigationEnd))
      .subscribe((event) => {
        this.signedInArea.set(event.urlAfterRedirects.startsWith('/security'));
        // On the first page the browser starts at the top; on later ones, a
        // screen reader user hears the new page's title.
        if (!first) focusAfterRender(injector, 'main h1');
        first = false;
      });
    inject(DestroyRef).onDestroy(() => subscription.unsubscribe());
  }
}
