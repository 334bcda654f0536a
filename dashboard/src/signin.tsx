import { useState } from 'preact/hooks';
import { api, ApiError, type SessionInfo } from './api.js';

/** Sign-in with an app's key and secret, or with the operator token when the server has one. */
export function SignIn(props: { operator: boolean; onSignedIn: (s: SessionInfo) => void }) {
  const [key, setKey] = useState('');
  const [secret, setSecret] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (creds: Parameters<typeof api.signIn>[0]) => {
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await api.signIn(creds));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="signin">
      <h1>
        <img src="/dashboard/favicon.svg" alt="" width="40" height="40" /> Rivulet dashboard
      </h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit({ api_key: key.trim(), api_secret: secret });
        }}
      >
        <h2>Sign in with an app's key and secret</h2>
        <label>
          API key
          <input name="api_key" autocomplete="username" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} required />
        </label>
        <label>
          API secret
          <input name="api_secret" type="password" autocomplete="current-password" value={secret} onInput={(e) => setSecret((e.target as HTMLInputElement).value)} required />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      {props.operator && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void submit({ operator_token: token });
          }}
        >
          <h2>Or as the operator (every app)</h2>
          <label>
            Operator token
            <input name="operator_token" type="password" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} required />
          </label>
          <button type="submit" disabled={busy}>
            Sign in as operator
          </button>
        </form>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <p class="muted">The session is kept in an HttpOnly cookie for 8 hours; the secret is not stored in the browser.</p>
    </div>
  );
}
