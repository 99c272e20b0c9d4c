// The field app: screens (Dutch, phone first) over the store (store.js), the keys (crypto.js)
// and the sync protocol (sync.js). One state object; every change renders the whole screen,
// which at 40 cases costs less than a frame.
import { h, render } from "preact";
import htm from "htm";
import { makeDataKey, makeDeviceKeys, unwrapDataKey, validPin, PIN_MIN_DIGITS } from "./crypto.js";
import { readDevice, Vault, wipeAll, writeDevice } from "./store.js";
import { ApiError, enroll, Offline, Session, SignInNeeded, signInAgain, staffToken, TamperedList } from "./sync.js";
import { validEvent } from "./schema.js";

const html = htm.bind(h);
const VERSION = __APP_VERSION__;
const MAX_WRONG_PINS = 5;
const DEFAULT_IDLE_MINUTES = 5; // until the first pull brings the municipality's policy
const SYNC_EVERY_MS = 3 * 60 * 1000;

const state = {
  phase: "loading", // loading | enroll | locked | open | wiped
  device: null, vault: null, session: null,
  cases: [], outbox: [], results: [], sync: null,
  online: navigator.onLine, busy: false, message: null, error: null, wipedReason: null,
  step: null, signInNeeded: false, update: null, confirm: null, pinsLeft: null,
  route: parseRoute(),
};

// --- words ---------------------------------------------------------------------------------

const CLASSIFICATION = { single: "enkelvoudig", multiple: "meervoudig", consecutive: "opeenvolgend" };
const KIND = {
  visit_attempt: "Huisbezoek", card_left: "Kaartje achtergelaten", phone_attempt: "Telefoon", sms_sent: "SMS/WhatsApp",
  appointment_kept: "Afspraak", help_offered: "Bedenktijd", help_accepted: "Hulp geaccepteerd",
  help_declined: "Hulp geweigerd", note: "Notitie", result_proposed: "Resultaat voorgesteld", letter_sent: "Brief",
  mail_sent: "Mail", administrative: "Administratief",
};
const RESULT = {
  applied: "Verwerkt", duplicate: "Al ontvangen (verwerkt)", conflict: "Conflict: het kantoor beslist",
  rejected: "Geweigerd",
};
// The server's reasons, in the worker's words; a reason not listed here is shown as it came.
const REASON = {
  "needs review by the back office": "botst met wat er al over deze zaak is vastgelegd; de backoffice kiest welke uitkomst geldt",
  "unknown case": "deze zaak bestaat niet (meer)",
  "event id already used for a different event": "dubbel nummer; neem contact op met de backoffice",
};
const CHANNEL = { visit: "huisbezoek", phone: "telefoon", letter: "brief", mail: "mail", sms: "sms", appointment: "afspraak" };
const DAY = new Intl.DateTimeFormat("nl-NL", { weekday: "short", day: "numeric", month: "short" });
const TIME = new Intl.DateTimeFormat("nl-NL", { hour: "2-digit", minute: "2-digit" });
const MOMENT = new Intl.DateTimeFormat("nl-NL", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
const EURO = new Intl.NumberFormat("nl-NL", { style: "currency", currency: "EUR" });

const day = (isoDate) => DAY.format(new Date(`${isoDate}T12:00:00`));
const moment = (iso) => MOMENT.format(new Date(iso));

function address(item) {
  const a = item.address;
  const number = [a.house_number, a.house_number_addition].filter((part) => part !== null && part !== "").join("-");
  return { line: [a.street, number].filter(Boolean).join(" ") || "Adres onbekend", place: [a.postcode, a.town].filter(Boolean).join(" ") };
}

const duo = (item) => (item.duo_partner ? `Duo met ${item.duo_partner}` : "Duo");

function residentName(resident) {
  return [resident.initials, resident.prefix, resident.surname].filter(Boolean).join(" ") || "Naam onbekend";
}

/** The phone's time with its own UTC offset, as the protocol asks (`occurred_at`). */
function localIso(date) {
  const offset = -date.getTimezoneOffset();
  const pad = (number, width = 2) => String(Math.abs(number)).padStart(width, "0");
  const sign = offset >= 0 ? "+" : "-";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`
    + `:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
}

// Walking order, as the planner orders a day list (api/backoffice/planning.py `walking_order`):
// postcode, street, house number (as a number), addition. Kept here too, because an incremental
// pull brings only the cases that changed.
function walkingOrder(a, b) {
  const key = (item) => [item.address.postcode || "", item.address.street || "", item.address.house_number || 0,
    item.address.house_number_addition || ""];
  const [x, y] = [key(a), key(b)];
  for (let index = 0; index < x.length; index += 1) {
    if (x[index] < y[index]) return -1;
    if (x[index] > y[index]) return 1;
  }
  return 0;
}

const expired = () => !state.sync || !state.sync.expires_at || Date.now() > Date.parse(state.sync.expires_at);

// --- routes --------------------------------------------------------------------------------

function parseRoute() {
  const hash = location.hash.replace(/^#\/?/, "");
  const visit = /^zaak\/([0-9a-f-]{36})$/.exec(hash);
  if (visit) return { name: "visit", caseId: visit[1] };
  if (hash === "versturen") return { name: "outbox" };
  if (hash === "instellingen") return { name: "settings" };
  return { name: "today" };
}

window.addEventListener("hashchange", () => {
  state.route = parseRoute();
  state.step = null; state.message = null; state.error = null; state.confirm = null;
  update();
  document.querySelector("h1")?.focus();
});

// --- what the worker does ------------------------------------------------------------------

function fields(event) {
  event.preventDefault();
  return Object.fromEntries(new FormData(event.target).entries());
}

async function onEnroll(event) {
  const form = fields(event);
  const username = (form.username || "").trim();
  const label = (form.label || "").trim();
  if (!username || username.length > 150 || !form.password || form.password.length > 1000) return fail("Vul uw gebruikersnaam en wachtwoord in.");
  if (!label || label.length > 100) return fail("Geef dit toestel een naam (hoogstens 100 tekens).");
  if (!validPin(form.pin)) return fail(`Kies een pincode van ${PIN_MIN_DIGITS} tot 12 cijfers.`);
  if (form.pin !== form.pin2) return fail("De twee pincodes zijn niet gelijk.");
  await busy(async () => {
    const staff = await staffToken(username, form.password);
    const keys = await makeDeviceKeys();
    const enrolled = await enroll(staff, keys.publicJwk, label);
    const { dataKey, lock } = await makeDataKey(form.pin);
    const device = { device_id: enrolled.device_id, private_key: keys.privateKey, lock, failed_pins: 0 };
    await writeDevice(device);
    const vault = new Vault(dataKey);
    await vault.put("session", { access_token: enrolled.access_token, refresh_token: enrolled.refresh_token });
    await vault.put("profile", { label, username, enrolled_at: new Date().toISOString() });
    openWith(device, vault);
    await load();
  }, (error) => (error instanceof ApiError && [400, 401].includes(error.status)
    ? "Gebruikersnaam of wachtwoord onjuist." : null));
  if (state.phase === "open") syncNow();
}

async function onUnlock(event) {
  const form = fields(event);
  if (!validPin(form.pin)) return fail(`Een pincode heeft ${PIN_MIN_DIGITS} tot 12 cijfers.`);
  const device = await readDevice();
  if (!device) return start();
  // Counted before trying: closing the app mid-check must not give a free attempt.
  device.failed_pins = (device.failed_pins || 0) + 1;
  await writeDevice(device);
  let dataKey;
  try {
    dataKey = await unwrapDataKey(form.pin, device.lock);
  } catch {
    if (device.failed_pins >= MAX_WRONG_PINS) {
      return wipe(`${MAX_WRONG_PINS} keer een verkeerde pincode: alle gegevens op dit toestel zijn gewist.`);
    }
    state.pinsLeft = MAX_WRONG_PINS - device.failed_pins;
    return fail(`Verkeerde pincode. Nog ${state.pinsLeft} ${state.pinsLeft === 1 ? "poging" : "pogingen"}, daarna wordt dit toestel gewist.`);
  }
  device.failed_pins = 0;
  await writeDevice(device);
  state.pinsLeft = null;
  openWith(device, new Vault(dataKey));
  await load();
  syncNow();
}

function openWith(device, vault) {
  Object.assign(state, { device, vault, session: new Session(vault, device), phase: "open", error: null, message: null });
  touch();
}

async function load() {
  const [cases, outbox, results, sync, profile] = await Promise.all([
    state.vault.cases(), state.vault.outbox(), state.vault.results(), state.vault.get("sync"), state.vault.get("profile"),
  ]);
  Object.assign(state, { cases: cases.sort(walkingOrder), outbox, results, sync, profile });
  armIdleLock(); // the policy's idle minutes may have changed with this list (a sync is no touch)
  update();
}

/** Events of one doorstep moment, into the outbox at once; sent when there is network. */
async function recordVisit(caseId, events, done) {
  const item = state.cases.find((candidate) => candidate.id === caseId);
  if (!item || expired()) return fail("Deze zaak staat niet (meer) op een geldige lijst.");
  const at = localIso(new Date());
  const stamped = events.map(([kind, payload]) => validEvent({
    event_id: crypto.randomUUID(), case_id: caseId, kind, occurred_at: at, base_version: item.version, payload,
  }));
  await state.vault.record(stamped);
  state.outbox = await state.vault.outbox();
  state.step = null;
  state.error = null;
  state.message = `Vastgelegd: ${done}. ${state.online ? "Wordt verstuurd." : "Wordt verstuurd zodra er netwerk is."}`;
  update();
  if (state.online) syncNow();
}

function textField(form, name, { required, max }) {
  const value = (form[name] || "").trim();
  if (required && !value) return { problem: "Vul dit in." };
  if (value.length > max) return { problem: `Hoogstens ${max} tekens.` };
  return { value: value || null };
}

const ACTIONS = {
  notHomeCard: (id) => recordVisit(id, [["visit_attempt", { reached: false }], ["card_left", {}]], "niet thuis, kaartje achtergelaten"),
  notHome: (id) => recordVisit(id, [["visit_attempt", { reached: false }]], "niet thuis"),
  accepted: (id) => recordVisit(id, [["visit_attempt", { reached: true }], ["help_accepted", {}]], "gesproken, hulp geaccepteerd"),
};

function onDeclined(id, event) {
  const reason = textField(fields(event), "reason", { required: true, max: 500 });
  if (reason.problem) return fail(`Reden: ${reason.problem}`);
  return recordVisit(id, [["visit_attempt", { reached: true }], ["help_declined", { reason: reason.value }]], "gesproken, hulp geweigerd");
}

function onThinking(id, event) {
  const note = textField(fields(event), "note", { required: false, max: 2000 });
  if (note.problem) return fail(`Notitie: ${note.problem}`);
  const payload = note.value ? { note: note.value } : {};
  return recordVisit(id, [["visit_attempt", { reached: true }], ["help_offered", payload]], "gesproken, bedenktijd");
}

function onNote(id, event) {
  const text = textField(fields(event), "text", { required: true, max: 2000 });
  if (text.problem) return fail(`Notitie: ${text.problem}`);
  return recordVisit(id, [["note", { text: text.value }]], "notitie");
}

/** Push the outbox, then pull: the list then already knows this phone's own events. */
let syncAgain = false;
async function syncNow() {
  if (state.phase !== "open") return;
  if (state.busy) { syncAgain = true; return; } // a visit recorded mid-sync goes out right after it
  syncAgain = false;
  if (!navigator.onLine) { state.online = false; update(); return; }
  state.busy = true; update();
  const session = state.session;
  try {
    if (state.outbox.length) {
      await session.push(state.outbox, (answered) => state.vault.settle(answered));
      state.outbox = await state.vault.outbox();
      state.results = await state.vault.results();
    }
    const sync = (await state.vault.get("sync")) || {};
    const list = await session.pull(state.cases, state.outbox.length, sync);
    await state.vault.applyPull(list, {
      ...sync, cursor: list.cursor, expires_at: list.expires_at, server_time: list.server_time,
      idle_lock_minutes: list.idle_lock_minutes, last_sync_at: new Date().toISOString(),
    });
    if (state.session === session) await load();
    state.error = null;
  } catch (error) {
    if (error instanceof ApiError && error.revoked) {
      await wipe("Dit toestel is ingetrokken door de gemeente. Alle gegevens op dit toestel zijn gewist.");
    } else if (error instanceof SignInNeeded) {
      state.signInNeeded = true;
    } else if (error instanceof TamperedList) {
      state.error = `De ontvangen lijst is geweigerd: ${error.message}. Er is niets van getoond of bewaard.`;
    } else if (error instanceof Offline) {
      state.error = "Geen verbinding met de server. Alles blijft bewaard; later opnieuw.";
    } else if (error instanceof ApiError) {
      state.error = `De server weigerde het verzoek (${error.status}): ${error.message}`;
    } else {
      state.error = `Synchroniseren mislukt: ${error.message}`;
    }
  } finally {
    state.busy = false;
    if (state.session === session && state.vault) {
      state.outbox = await state.vault.outbox().catch(() => state.outbox);
      state.results = await state.vault.results().catch(() => state.results);
    }
    update();
  }
  if (syncAgain && state.session === session && !state.error) syncNow();
}

async function onSignInAgain(event) {
  const form = fields(event);
  if (!form.username || !form.password) return fail("Vul uw gebruikersnaam en wachtwoord in.");
  await busy(async () => {
    const staff = await staffToken(form.username.trim(), form.password);
    const tokens = await signInAgain(staff, state.device.device_id);
    await state.vault.put("session", { access_token: tokens.access_token, refresh_token: tokens.refresh_token });
    state.signInNeeded = false;
  }, (error) => {
    if (error instanceof ApiError && error.revoked) { wipe("Dit toestel is ingetrokken door de gemeente. Alle gegevens op dit toestel zijn gewist."); return ""; }
    return error instanceof ApiError && [400, 401].includes(error.status) ? "Gebruikersnaam of wachtwoord onjuist." : null;
  });
  if (!state.signInNeeded) syncNow();
}

function lock() {
  if (state.phase !== "open") return;
  Object.assign(state, { phase: "locked", vault: null, session: null, cases: [], outbox: [], results: [], sync: null,
    profile: null, step: null, message: null, error: null, confirm: null });
  update();
}

async function wipe(reason) {
  Object.assign(state, { vault: null, session: null, device: null, cases: [], outbox: [], results: [], sync: null, profile: null });
  await wipeAll();
  // The caches hold the app shell only; anything else found there goes too.
  if (globalThis.caches) {
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        if (!new URL(request.url).pathname.startsWith("/field/")) await cache.delete(request);
      }
    }
  }
  Object.assign(state, { phase: "wiped", wipedReason: reason, busy: false, step: null, confirm: null, error: null, message: null });
  update();
}

async function signOut() {
  await busy(async () => {
    try {
      await state.session.logout();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error; // no network: do not leave the tokens alive on the server
    }
  });
  if (state.error) return;
  await wipe("U bent afgemeld. De gegevens op dit toestel zijn gewist.");
}

async function busy(work, explain = () => null) {
  state.busy = true; state.error = null; update();
  try {
    await work();
  } catch (error) {
    const explained = explain(error);
    if (explained !== "") {
      state.error = explained || (error instanceof Offline ? "Geen verbinding met de server. Probeer het opnieuw."
        : `Dat lukte niet: ${error.message}`);
    }
  } finally {
    state.busy = false; update();
  }
}

function fail(text) {
  state.error = text; state.message = null; update();
  document.querySelector("[role=alert]")?.focus();
}

async function start() {
  const device = await readDevice();
  state.phase = device ? "locked" : "enroll";
  state.device = device || null;
  update();
}

// --- locking when idle or hidden -----------------------------------------------------------

let idleTimer = null;
let lastTouch = Date.now();
/** The municipality's policy, as the last pull brought it (protocol: `idle_lock_minutes`). */
const idleMinutes = () => (state.sync && Number.isInteger(state.sync.idle_lock_minutes) ? state.sync.idle_lock_minutes
  : DEFAULT_IDLE_MINUTES);
/** The lock, due the policy's minutes after the worker last touched the app. */
function armIdleLock() {
  clearTimeout(idleTimer);
  if (state.phase === "open") idleTimer = setTimeout(lock, Math.max(0, lastTouch + idleMinutes() * 60 * 1000 - Date.now()));
}
function touch() {
  lastTouch = Date.now();
  armIdleLock();
}
for (const type of ["pointerdown", "keydown"]) addEventListener(type, touch, { passive: true });
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") lock(); });
addEventListener("online", () => { state.online = true; update(); syncNow(); });
addEventListener("offline", () => { state.online = false; update(); });
setInterval(() => syncNow(), SYNC_EVERY_MS);

// --- screens -------------------------------------------------------------------------------

const Alert = () => (state.error ? html`<p class="alert" role="alert" tabindex="-1">${state.error}</p>` : null);
const Status = () => html`<p class="status" role="status">${state.message || ""}</p>`;

function Enroll() {
  return html`<main id="inhoud">
    <h1 tabindex="-1">Aanmelden</h1>
    <p>Meld dit toestel eenmalig aan met uw eigen account. Daarna opent u de app met een pincode.</p>
    <${Alert} />
    <form onSubmit=${onEnroll} novalidate>
      <label for="username">Gebruikersnaam</label>
      <input id="username" name="username" autocomplete="username" autocapitalize="none" required maxlength="150" />
      <label for="password">Wachtwoord</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1000" />
      <label for="label">Naam van dit toestel</label>
      <input id="label" name="label" value="Werktelefoon" required maxlength="100" />
      <label for="pin">Kies een pincode (${PIN_MIN_DIGITS} tot 12 cijfers)</label>
      <input id="pin" name="pin" type="password" inputmode="numeric" autocomplete="new-password" pattern="[0-9]*" required maxlength="12" />
      <label for="pin2">Herhaal de pincode</label>
      <input id="pin2" name="pin2" type="password" inputmode="numeric" autocomplete="new-password" pattern="[0-9]*" required maxlength="12" />
      <button type="submit" class="primary" disabled=${state.busy}>${state.busy ? "Bezig met aanmelden…" : "Toestel aanmelden"}</button>
    </form>
  </main>`;
}

function Unlock() {
  return html`<main id="inhoud">
    <h1 tabindex="-1">Ontgrendelen</h1>
    <p>Voer uw pincode in. Na ${MAX_WRONG_PINS} verkeerde pogingen wordt dit toestel gewist.</p>
    <${Alert} />
    <form onSubmit=${onUnlock} novalidate>
      <label for="pin">Pincode</label>
      <input id="pin" name="pin" type="password" inputmode="numeric" autocomplete="off" pattern="[0-9]*" required maxlength="12" />
      <button type="submit" class="primary">Ontgrendelen</button>
    </form>
  </main>`;
}

function Wiped() {
  return html`<main id="inhoud">
    <h1 tabindex="-1">Toestel gewist</h1>
    <p role="alert">${state.wipedReason}</p>
    <button type="button" class="primary" onClick=${() => { state.wipedReason = null; start(); }}>Opnieuw aanmelden</button>
  </main>`;
}

function Bar() {
  const last = state.sync && state.sync.last_sync_at ? TIME.format(new Date(state.sync.last_sync_at)) : "nog niet";
  return html`<header class="bar">
    <span class=${state.online ? "badge online" : "badge offline"}>${state.online ? "Online" : "Offline"}</span>
    <span>Gesynchroniseerd: ${last}</span>
    <span>Niet verstuurd: <strong data-testid="unsent">${state.outbox.length}</strong></span>
  </header>
  ${state.update ? html`<section class="banner" aria-labelledby="nieuwe-versie">
    <h2 id="nieuwe-versie">Nieuwe versie beschikbaar</h2>
    <p>Bijwerken wanneer het u uitkomt: de app start dan opnieuw en vraagt uw pincode. Wat u vastlegde blijft bewaard.</p>
    <button type="button" class="secondary" onClick=${applyUpdate}>Bijwerken</button></section>` : null}
  ${state.signInNeeded ? html`<${SignInAgain} />` : null}`;
}

function SignInAgain() {
  return html`<section class="banner" aria-labelledby="opnieuw">
    <h2 id="opnieuw">Opnieuw inloggen</h2>
    <p>De sessie van dit toestel is verlopen. Log in om weer te synchroniseren; uw lijst en niet-verstuurde bezoeken blijven bewaard.</p>
    <form onSubmit=${onSignInAgain} novalidate>
      <label for="again-username">Gebruikersnaam</label>
      <input id="again-username" name="username" autocomplete="username" autocapitalize="none" required maxlength="150" />
      <label for="again-password">Wachtwoord</label>
      <input id="again-password" name="password" type="password" autocomplete="current-password" required maxlength="1000" />
      <button type="submit" class="primary" disabled=${state.busy}>Inloggen</button>
    </form>
  </section>`;
}

function Nav() {
  const link = (href, name, label) => html`<a href=${href} aria-current=${state.route.name === name ? "page" : null}>${label}</a>`;
  return html`<nav class="tabs" aria-label="Hoofdmenu">
    ${link("#/", "today", "Vandaag")}
    ${link("#/versturen", "outbox", `Versturen (${state.outbox.length})`)}
    ${link("#/instellingen", "settings", "Instellingen")}
  </nav>`;
}

function SyncButton() {
  return html`<button type="button" class="secondary" onClick=${syncNow} disabled=${state.busy || !state.online}>
    ${state.busy ? "Bezig met synchroniseren…" : "Nu synchroniseren"}</button>`;
}

function ExpiredList() {
  return html`<section class="expired">
    <h2>Lijst verlopen</h2>
    <p>Deze bezoeklijst is niet meer geldig. Synchroniseer om een nieuwe lijst te krijgen.</p>
  </section>`;
}

function Today() {
  let body;
  if (!state.sync) body = html`<p>Nog geen bezoeklijst op dit toestel. Synchroniseer zodra er netwerk is.</p>`;
  else if (expired()) body = html`<${ExpiredList} />`;
  else if (!state.cases.length) body = html`<p>Geen bezoeken op uw lijst.</p>`;
  else {
    body = html`<ul class="cases" aria-label="Bezoeken">${state.cases.map((item) => {
      const where = address(item);
      const attempts = item.previous_attempts.length;
      const pending = state.outbox.filter((record) => record.event.case_id === item.id).length;
      return html`<li key=${item.id}><a class="case" href=${`#/zaak/${item.id}`}>
        <span class="street">${where.line}</span>
        <span class="place">${where.place}</span>
        <span class="facts">
          ${item.crisis ? html`<span class="badge crisis">Crisis</span>` : null}
          <span>Contact uiterlijk ${day(item.first_contact_due_date)}</span>
          <span>${CLASSIFICATION[item.classification] || item.classification}</span>
          ${item.paired ? html`<span class="badge duo">${duo(item)}</span>` : null}
          <span>${attempts ? `${attempts} ${attempts === 1 ? "poging" : "pogingen"}` : "Nog geen poging"}</span>
          ${pending ? html`<span class="badge pending">${pending} niet verstuurd</span>` : null}
        </span>
      </a></li>`;
    })}</ul>`;
  }
  return html`<main id="inhoud">
    <h1 tabindex="-1">Vandaag</h1>
    <${Alert} /><${Status} />
    ${body}
    <${SyncButton} />
  </main>`;
}

function Actions({ item }) {
  const id = item.id;
  const step = state.step;
  const choose = (next) => () => { state.step = next; state.message = null; state.error = null; update(); };
  const back = html`<button type="button" class="secondary" onClick=${choose(null)}>Terug</button>`;
  if (step === "notHome") {
    return html`<div class="actions" role="group" aria-label="Niet thuis">
      <button type="button" class="primary" onClick=${() => ACTIONS.notHomeCard(id)}>Kaartje achtergelaten</button>
      <button type="button" class="primary" onClick=${() => ACTIONS.notHome(id)}>Geen kaartje</button>${back}</div>`;
  }
  if (step === "spoken") {
    return html`<div class="actions" role="group" aria-label="Gesproken">
      <button type="button" class="primary" onClick=${() => ACTIONS.accepted(id)}>Hulp geaccepteerd</button>
      <button type="button" class="primary" onClick=${choose("declined")}>Hulp geweigerd</button>
      <button type="button" class="primary" onClick=${choose("thinking")}>Bedenktijd</button>${back}</div>`;
  }
  const form = (label, name, required, max, submit) => html`<form class="actions" onSubmit=${submit} novalidate>
    <label for=${name}>${label}</label>
    <textarea id=${name} name=${name} rows="3" maxlength=${max} required=${required}></textarea>
    <button type="submit" class="primary">Opslaan</button>${back}</form>`;
  if (step === "declined") return form("Reden van weigeren", "reason", true, 500, (event) => onDeclined(id, event));
  if (step === "thinking") return form("Notitie (niet verplicht)", "note", false, 2000, (event) => onThinking(id, event));
  if (step === "note") return form("Notitie", "text", true, 2000, (event) => onNote(id, event));
  return html`<div class="actions">
    <button type="button" class="primary" onClick=${choose("notHome")}>Niet thuis</button>
    <button type="button" class="primary" onClick=${choose("spoken")}>Gesproken</button>
    <button type="button" class="secondary" onClick=${choose("note")}>Notitie</button></div>`;
}

function Visit() {
  const item = state.cases.find((candidate) => candidate.id === state.route.caseId);
  if (expired() || !item) {
    return html`<main id="inhoud"><h1 tabindex="-1">Huisbezoek</h1><${Alert} /><${Status} />
      ${expired() ? html`<${ExpiredList} />` : html`<p>Deze zaak staat niet (meer) op uw lijst.</p>`}
      <a class="button secondary" href="#/">Terug naar vandaag</a></main>`;
  }
  const where = address(item);
  const pending = state.outbox.filter((record) => record.event.case_id === item.id);
  const notes = [...(item.notes || []), ...pending.map(({ event }) => ({
    occurred_at: event.occurred_at, kind: event.kind, text: event.payload.text || event.payload.reason || event.payload.note,
    pending: true,
  })).filter((note) => note.text)];
  return html`<main id="inhoud">
    <a class="back" href="#/">← Vandaag</a>
    <h1 tabindex="-1">${where.line}</h1>
    <p class="place">${where.place}</p>
    <p class="facts">
      ${item.crisis ? html`<span class="badge crisis">Crisis</span>` : null}
      <span>Contact uiterlijk ${day(item.first_contact_due_date)}</span>
      <span>${CLASSIFICATION[item.classification] || item.classification}</span>
      ${item.paired ? html`<span class="badge duo">${duo(item)}</span>` : null}
      ${item.planned_action ? html`<span>Gepland: ${CHANNEL[item.planned_action] || item.planned_action}</span>` : null}
    </p>
    <${Alert} /><${Status} />
    <${Actions} item=${item} />
    <h2>Bewoners</h2>
    <ul>${item.residents.map((resident) => html`<li>${residentName(resident)}
      ${resident.phone ? html` — <a href=${`tel:${resident.phone.replace(/[^0-9+]/g, "")}`}>${resident.phone}</a>` : null}</li>`)}</ul>
    <h2>Achterstanden</h2>
    ${item.arrears && item.arrears.length ? html`<ul class="arrears">
      ${item.arrears.map((arrear) => html`<li>${arrear.partner_type}: ${EURO.format(arrear.amount_cents / 100)}</li>`)}
    </ul>` : null}
    <p>Totaal ${EURO.format(item.total_arrears_cents / 100)}${item.arrears && item.arrears.length ? ""
      : ` bij: ${item.partner_types.join(", ") || "onbekend"}`}</p>
    <h2>Eerdere pogingen</h2>
    ${item.previous_attempts.length || pending.length ? html`<ul>
      ${item.previous_attempts.map((attempt) => html`<li>${moment(attempt.occurred_at)}: ${KIND[attempt.kind] || attempt.kind}${
        attempt.reached === true ? ", bereikt" : attempt.reached === false ? ", niet bereikt" : ""}</li>`)}
      ${pending.map((record) => html`<li>${moment(record.event.occurred_at)}: ${KIND[record.event.kind]} (niet verstuurd)</li>`)}
    </ul>` : html`<p>Nog geen.</p>`}
    <h2>Notities</h2>
    ${notes.length ? html`<ul class="notes" aria-label="Notities">${notes.map((note) => html`<li>
      <span class="when">${moment(note.occurred_at)} · ${KIND[note.kind] || note.kind}${note.pending ? " (niet verstuurd)" : ""}</span>
      <span class="text">${note.text}</span></li>`)}</ul>` : html`<p>Nog geen.</p>`}
  </main>`;
}

function eventLine(event) {
  const item = state.cases.find((candidate) => candidate.id === event.case_id);
  return `${moment(event.occurred_at)} · ${KIND[event.kind] || event.kind}${item ? ` · ${address(item).line}` : ""}`;
}

function Outbox() {
  return html`<main id="inhoud">
    <h1 tabindex="-1">Versturen</h1>
    <${Alert} /><${Status} />
    <h2>Nog niet verstuurd (${state.outbox.length})</h2>
    ${state.outbox.length ? html`<ul class="events">${state.outbox.map((record) => html`<li key=${record.event.event_id}>${eventLine(record.event)}</li>`)}</ul>`
      : html`<p>Alles is verstuurd.</p>`}
    <${SyncButton} />
    <h2>Resultaten</h2>
    ${state.results.length ? html`<ul class="events" aria-label="Resultaten">${state.results.map(({ event, result }) => html`<li key=${event.event_id}>
      ${eventLine(event)}: <strong class=${`result ${result.result}`}>${RESULT[result.result] || result.result}</strong>
      ${result.reason ? html` (${REASON[result.reason] || result.reason})` : null}</li>`)}</ul>` : html`<p>Nog geen.</p>`}
  </main>`;
}

function Settings() {
  const confirming = state.confirm;
  const ask = (what) => () => { state.confirm = what; update(); };
  const warning = state.outbox.length ? ` Let op: ${state.outbox.length} niet verstuurde gebeurtenissen gaan verloren.` : "";
  return html`<main id="inhoud">
    <h1 tabindex="-1">Instellingen</h1>
    <${Alert} />
    <dl>
      <dt>Toestel</dt><dd>${state.profile ? state.profile.label : ""}</dd>
      <dt>Medewerker</dt><dd>${state.profile ? state.profile.username : ""}</dd>
      <dt>Versie</dt><dd data-testid="version">${VERSION}</dd>
    </dl>
    <div class="actions">
      <button type="button" class="secondary" onClick=${lock}>Vergrendelen</button>
      ${confirming === "signout" ? html`<p role="alert">Afmelden wist alle gegevens op dit toestel.${warning}</p>
        <button type="button" class="danger" onClick=${signOut}>Ja, afmelden en wissen</button>`
        : html`<button type="button" class="secondary" onClick=${ask("signout")}>Afmelden</button>`}
      ${confirming === "wipe" ? html`<p role="alert">Alle gegevens op dit toestel worden gewist.${warning}</p>
        <button type="button" class="danger" onClick=${() => wipe("Dit toestel is gewist.")}>Ja, wis dit toestel</button>`
        : html`<button type="button" class="danger" onClick=${ask("wipe")}>Dit toestel wissen</button>`}
    </div>
  </main>`;
}

const SCREENS = { today: Today, visit: Visit, outbox: Outbox, settings: Settings };

function App() {
  if (state.phase === "loading") return html`<main id="inhoud"><h1>Doorstep</h1><p>Laden…</p></main>`;
  if (state.phase === "enroll") return html`<${Enroll} />`;
  if (state.phase === "locked") return html`<${Unlock} />`;
  if (state.phase === "wiped") return html`<${Wiped} />`;
  const Screen = SCREENS[state.route.name];
  return html`<${Bar} /><${Screen} /><${Nav} />`;
}

function update() {
  render(html`<${App} />`, document.getElementById("app"));
}

// --- the service worker: the app shell offline; a new version is offered, never forced --------

function applyUpdate() {
  const waiting = state.update;
  if (!waiting) return;
  navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
  waiting.postMessage("skip-waiting");
}

async function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  const registration = await navigator.serviceWorker.register("/field/sw.js", { scope: "/field/" });
  const offer = (worker) => {
    if (worker && navigator.serviceWorker.controller) { state.update = worker; update(); }
  };
  offer(registration.waiting);
  // The browser looks for a new shell on each start; a phone kept open all day looks with the sync.
  const look = () => { if (navigator.onLine) registration.update().catch(() => { /* offline: next time */ }); };
  setInterval(look, SYNC_EVERY_MS);
  addEventListener("online", look);
  registration.addEventListener("updatefound", () => {
    const worker = registration.installing;
    worker?.addEventListener("statechange", () => { if (worker.state === "installed") offer(worker); });
  });
}

document.getElementById("app").textContent = "";
start();
registerWorker().catch(() => { /* no service worker: the app works online only */ });
