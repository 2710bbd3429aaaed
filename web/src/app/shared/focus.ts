import { Injector, afterNextRender } from '@angular/core';

/** After the next render, moves the focus to the first element matching `selector`. */
export function focusAfterRender(injector: Injector, selector: string): void {
  afterNextRender(() => document.querySelector<HTMLElement>(selector)?.focus(), { injector });
}
