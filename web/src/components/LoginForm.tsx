import { type FormEvent, useId, useState } from 'react';
import { type AuthState, describeAuthError } from '../auth';
import { useFormats } from '../i18n';

interface Props {
  auth: AuthState;
  onLogin: (username: string, password: string) => void;
}

export function LoginForm({ auth, onLogin }: Props) {
  const { t } = useFormats();
  const id = useId();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!auth.busy && username !== '' && password !== '') onLogin(username, password);
  };
  return (
    <form className="login" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t('login.title')}</h2>
      <label htmlFor={`${id}-user`}>{t('login.userName')}</label>
      <input
        id={`${id}-user`}
        name="username"
        autoComplete="username"
        // A user name is Latin letters whichever way the page runs.
        dir="auto"
        required
        value={username}
        onChange={(e) => setUsername(e.target.value)}
      />
      <label htmlFor={`${id}-password`}>{t('login.password')}</label>
      <input
        id={`${id}-password`}
        name="password"
        type="password"
        autoComplete="current-password"
        dir="auto"
        required
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      {auth.error !== null && (
        <p className="login-error" role="alert" data-testid="login-error">
          {describeAuthError(t, auth.error)}
        </p>
      )}
      <button type="submit" aria-busy={auth.busy} disabled={auth.busy}>
        {auth.busy ? t('login.busy') : t('login.submit')}
      </button>
    </form>
  );
}
