// Talking to the service: the worker's sign-in and enrolment, pull (JWE to the device key,
// checked against the protocol) and push (the outbox in batches, the same batch again after a
// timeout). Follows clients/python/doorstep_client/device.py, the reference client.
import { compactDecrypt } from "jose/jwe/compact/decrypt";
import { decodeProtectedHeader } from "jose/decode/protected_header";
import { sha256Hex } from "./crypto.js";
import { validVisitList } from "./schema.js";

const ALGORITHMS = { alg: "RSA-OAEP-256", enc: "A256GCM" };
const BATCH = 100;
const TIMEOUT_MS = 20000;
const TRIES = 5;
const REVOKED = "urn:doorstep:problem:device-revoked";

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  get revoked() { return this.problem.type === REVOKED || this.problem.wipe === true; }
}
export class Offline extends Error {}
export class TamperedList extends Error {}
export class SignInNeeded extends Error {}

async function request(path, { method = "GET", token, body, form, timeout = TIMEOUT_MS } = {}) {
  const headers = { Accept: "application/json, application/jose, application/problem+json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (form) { payload = new URLSearchParams(form); headers["Content-Type"] = "application/x-www-form-urlencoded"; }
  if (body) { payload = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeout);
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, signal: abort.signal, credentials: "omit", cache: "no-store" });
  } catch (error) {
    throw new Offline(error.name === "AbortError" ? "timeout" : "network");
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { /* not JSON: the status says enough */ }
    throw new ApiError(response.status, problem);
  }
  return response;
}

/** The worker's own staff token, used only to enrol (or sign the phone in again), then dropped. */
export async function staffToken(username, password) {
  const response = await request("/v1/auth/token", { method: "POST", form: { grant_type: "password", username, password } });
  return (await response.json()).access_token;
}

export async function enroll(staff, publicJwk, label) {
  const response = await request("/v1/devices", { method: "POST", token: staff, body: { public_jwk: publicJwk, label } });
  return response.json();
}

export async function signInAgain(staff, deviceId) {
  const response = await request(`/v1/devices/${encodeURIComponent(deviceId)}/tokens`, { method: "POST", token: staff });
  return response.json();
}

export async function logout(accessToken) {
  await request("/v1/auth/logout", { method: "POST", token: accessToken });
}

export function caseSetChecksum(cases) {
  return sha256Hex(cases.map((item) => `${item.id}:${item.version}`).sort().join("\n"));
}

/** The visit list in a compact JWE: only RSA-OAEP-256/A256GCM, only the protocol's shape. */
export async function openVisitList(token, privateKey) {
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new TamperedList("geen geldige lijst");
  }
  if (header.alg !== ALGORITHMS.alg || header.enc !== ALGORITHMS.enc) throw new TamperedList("onverwachte versleuteling");
  try {
    const { plaintext } = await compactDecrypt(token, privateKey, {
      keyManagementAlgorithms: [ALGORITHMS.alg], contentEncryptionAlgorithms: [ALGORITHMS.enc],
    });
    return validVisitList(JSON.parse(new TextDecoder().decode(plaintext)));
  } catch (error) {
    throw new TamperedList(`de lijst kon niet worden geopend (${error.name})`);
  }
}

/** One device session: its tokens (kept sealed in the vault) and the calls that need them. */
export class Session {
  constructor(vault, device) { this.vault = vault; this.device = device; }

  async #authorised(call) {
    const tokens = await this.vault.get("session");
    try {
      return await call(tokens.access_token);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401 || error.revoked) throw error;
    }
    let fresh;
    try {
      const response = await request("/v1/auth/token", {
        method: "POST", form: { grant_type: "refresh_token", refresh_token: tokens.refresh_token },
      });
      fresh = await response.json();
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) throw new SignInNeeded("sessie verlopen");
      throw error;
    }
    await this.vault.put("session", { access_token: fresh.access_token, refresh_token: fresh.refresh_token || tokens.refresh_token });
    return call(fresh.access_token);
  }

  async pull(held, unsent, syncState) {
    const params = new URLSearchParams({ checksum: await caseSetChecksum(held), unsent: String(unsent) });
    if (syncState && syncState.cursor) params.set("cursor", syncState.cursor);
    const response = await this.#authorised((token) => request(`/v1/sync/pull?${params}`, { token }));
    return openVisitList(await response.text(), this.device.private_key);
  }

  /** Every event in the outbox sent until each has a result; a failed batch is sent again unchanged. */
  async push(outbox, settle, sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))) {
    const counts = { applied: 0, duplicate: 0, conflict: 0, rejected: 0 };
    for (let start = 0; start < outbox.length; start += BATCH) {
      const batch = outbox.slice(start, start + BATCH).map((record) => record.event);
      const body = { device_id: this.device.device_id, events: batch, unsent: Math.max(0, outbox.length - start - batch.length) };
      const answer = await this.#withRetries(body, sleep);
      const byId = new Map(answer.results.map((result) => [result.event_id, result]));
      if (batch.some((event) => !byId.has(event.event_id))) throw new Offline("incomplete answer");
      await settle(batch.map((event) => ({ event, result: byId.get(event.event_id) })));
      for (const result of answer.results) counts[result.result] = (counts[result.result] || 0) + 1;
    }
    return counts;
  }

  async #withRetries(body, sleep) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const response = await this.#authorised((token) => request("/v1/sync/push", { method: "POST", token, body }));
        return await response.json();
      } catch (error) {
        const transient = error instanceof Offline || (error instanceof ApiError && (error.status >= 500 || error.status === 429));
        if (!transient || attempt === TRIES) throw error;
      }
      const delay = 500 * 2 ** (attempt - 1);
      await sleep(delay + Math.random() * delay); // jitter: phones coming out of a basement do not retry in step
    }
  }

  async logout() {
    await this.#authorised((token) => logout(token));
  }
}
