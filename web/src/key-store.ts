/**
 * The API key: kept for this tab (sessionStorage) unless the user asks to remember it on this device
 * (localStorage). Only ever sent in the Authorization header of this server's API.
 */
const KEY = 'pixtral-playground-api-key';

export function storedKey(): { key: string; remembered: boolean } {
  const remembered = localStorage.getItem(KEY);
  if (remembered) return { key: remembered, remembered: true };
  return { key: sessionStorage.getItem(KEY) ?? '', remembered: false };
}

export function storeKey(key: string, remember: boolean): void {
  localStorage.removeItem(KEY);
  sessionStorage.removeItem(KEY);
  if (!key) return;
  (remember ? localStorage : sessionStorage).setItem(KEY, key);
}
