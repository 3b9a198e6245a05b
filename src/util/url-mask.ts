/** URLs as they may be printed: a password in the user-info part becomes `***`. */
export function maskUrlPassword(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    // Not parseable: hide whatever sits between '//' and '@'.
    return url.replace(/\/\/[^/@]*@/, '//***@');
  }
}

export function urlHasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}
