import { Routes } from '@angular/router';
import { AuditLogPage } from './pages/audit-log';
import { ForgotPasswordPage } from './pages/forgot-password';
import { ResetPasswordPage } from './pages/reset-password';
import { SecurityPage } from './pages/security';
import { SetupPage } from './pages/setup';
import { SignInPage } from './pages/sign-in';
import { SignUpPage } from './pages/sign-up';
import { TwoFactorPage } from './pages/two-factor';
import { VerifyEmailPage } from './pages/verify-email';
import { confirmLeavingUnsavedCodes } from './shared/unsaved-codes.guard';

// No route guard asks the API whether the user is signed in: every signed-in
// page loads its data, and the session interceptor sends a 401 that a refresh
// cannot cure to the sign-in page.
export const routes: Routes = [
  { path: '', pathMatch: 'full', redirectTo: 'security' },
  { path: 'sign-in', component: SignInPage, title: 'Sign in · TwoFA' },
  { path: 'sign-in/2fa', component: TwoFactorPage, title: 'Enter your code · TwoFA' },
  { path: 'sign-up', component: SignUpPage, title: 'Create an account · TwoFA' },
  // The pages a mail's link opens: signed in or not; the token is in the fragment.
  { path: 'forgot-password', component: ForgotPasswordPage, title: 'Forgot your password? · TwoFA' },
  { path: 'reset-password', component: ResetPasswordPage, title: 'Choose a new password · TwoFA' },
  { path: 'verify-email', component: VerifyEmailPage, title: 'Verify your email address · TwoFA' },
  {
    path: 'security',
    component: SecurityPage,
    title: 'Security · TwoFA',
    canDeactivate: [confirmLeavingUnsavedCodes],
  },
  {
    path: 'security/setup',
    component: SetupPage,
    title: 'Turn on two-factor authentication · TwoFA',
    canDeactivate: [confirmLeavingUnsavedCodes],
  },
  { path: 'security/log', component: AuditLogPage, title: 'Security log · TwoFA' },
  { path: '**', redirectTo: 'security' },
];
