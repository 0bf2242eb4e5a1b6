import { type FormEvent, useId, useState } from 'react';
import type { AuthState } from '../auth';

interface Props {
  auth: AuthState;
  onLogin: (username: string, password: string) => void;
}

export function LoginForm({ auth, onLogin }: Props) {
  const id = useId();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!auth.busy && username !== '' && password !== '') onLogin(username, password);
  };
  return (
    <form className="login" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Log in</h2>
      <label htmlFor={`${id}-user`}>User name</label>
      <input
        id={`${id}-user`}
        name="username"
        autoComplete="username"
        required
        value={username}
        onChange={(e) => setUsername(e.target.value)}
      />
      <label htmlFor={`${id}-password`}>Password</label>
      <input
        id={`${id}-password`}
        name="password"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      {auth.error !== null && (
        <p className="login-error" role="alert" data-testid="login-error">
          {auth.error}
        </p>
      )}
      <button type="submit" aria-busy={auth.busy} disabled={auth.busy}>
        {auth.busy ? 'Logging in…' : 'Log in'}
      </button>
    </form>
  );
}
