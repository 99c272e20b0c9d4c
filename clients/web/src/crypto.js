// The phone's keys, all made and used by WebCrypto:
// - the device key pair (RSA-OAEP-256, 2048 bits): the private half is non-extractable and
//   lives only as a CryptoKey in IndexedDB; visit lists are encrypted to the public half;
// - the data key (AES-256-GCM): encrypts everything personal at rest; it exists unwrapped
//   only in memory, after the PIN, as a non-extractable key;
// - the PIN key (AES-KW, from PBKDF2-SHA-256 over the PIN): wraps the data key. A wrong PIN
//   fails AES-KW's integrity check, so the app never stores anything that verifies a PIN.
const subtle = globalThis.crypto.subtle;
export const PIN_ITERATIONS = 600000;
export const PIN_MIN_DIGITS = 5;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function makeDeviceKeys() {
  const pair = await subtle.generateKey(
    { name: "RSA-OAEP", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    false,
    ["decrypt", "encrypt"],
  );
  const jwk = await subtle.exportKey("jwk", pair.publicKey);
  // Public members only: the server refuses a key that carries a private one.
  return { privateKey: pair.privateKey, publicJwk: { kty: jwk.kty, n: jwk.n, e: jwk.e } };
}

async function pinKey(pin, salt, iterations) {
  const material = await subtle.importKey("raw", encoder.encode(pin), "PBKDF2", false, ["deriveKey"]);
  return subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations }, material, { name: "AES-KW", length: 256 }, false,
    ["wrapKey", "unwrapKey"],
  );
}

/** A fresh data key wrapped under the PIN, and the same key unwrapped (non-extractable) for this session. */
export async function makeDataKey(pin) {
  const salt = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const fresh = await subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]);
  const wrapped = await subtle.wrapKey("raw", fresh, await pinKey(pin, salt, PIN_ITERATIONS), "AES-KW");
  const dataKey = await unwrapDataKey(pin, { salt, iterations: PIN_ITERATIONS, wrapped });
  return { dataKey, lock: { salt, iterations: PIN_ITERATIONS, wrapped: new Uint8Array(wrapped) } };
}

/** The data key, or an error when the PIN is wrong. */
export async function unwrapDataKey(pin, lock) {
  const key = await pinKey(pin, lock.salt, lock.iterations);
  return subtle.unwrapKey("raw", lock.wrapped, key, "AES-KW", { name: "AES-GCM", length: 256 }, false,
    ["encrypt", "decrypt"]);
}

// Each record is bound to where it is stored (store and key as additional data), so a
// ciphertext moved to another record does not decrypt.
export async function seal(dataKey, where, value) {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(where) }, dataKey, encoder.encode(JSON.stringify(value)),
  );
  return { iv, ciphertext: new Uint8Array(ciphertext) };
}

export async function open(dataKey, where, sealed) {
  const plaintext = await subtle.decrypt(
    { name: "AES-GCM", iv: sealed.iv, additionalData: encoder.encode(where) }, dataKey, sealed.ciphertext,
  );
  return JSON.parse(decoder.decode(plaintext));
}

export async function sha256Hex(text) {
  const digest = new Uint8Array(await subtle.digest("SHA-256", encoder.encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function validPin(pin) {
  return typeof pin === "string" && new RegExp(`^\\d{${PIN_MIN_DIGITS},12}$`).test(pin);
}
