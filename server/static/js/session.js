// The bearer token, kept in sessionStorage: it survives a reload but not closing the tab, and
// is never written to localStorage or a cookie.

const TOKEN_KEY = 'caseApp.token';

/** The saved token, or null. */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Save the token for this tab. */
export function saveToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

/** Forget the token (sign out). */
export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * Who the token says the user is, for display only: the server checks the signature, the page
 * cannot and does not need to. Returns {user, admin} or null when the token is not a JWT.
 */
export function tokenIdentity(value) {
  const parts = (value || '').split('.');
  if (parts.length !== 3) return null;
  try {
    const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(parts[1].length / 4) * 4, '='));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
    const role = claims.role ?? claims.app_metadata?.role;
    return { user: String(claims.sub ?? ''), admin: role === 'admin' };
  } catch {
    return null;
  }
}
