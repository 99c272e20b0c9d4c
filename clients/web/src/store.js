// The phone's storage (IndexedDB): what is personal is sealed with the data key (crypto.js);
// in the clear are only the device id, the wrapped data key, its salt, the wrong-PIN count and
// the private key as a non-extractable CryptoKey, plus record keys that are random UUIDs.
import { openDB, deleteDB } from "idb";
import { open, seal } from "./crypto.js";

export const DB_NAME = "doorstep-field";
const STORES = ["device", "vault", "cases", "outbox", "results"];
let connection = null;

async function db() {
  if (!connection) {
    connection = await openDB(DB_NAME, 1, {
      upgrade(database) {
        for (const name of STORES) database.createObjectStore(name);
      },
      blocking() { connection?.close(); connection = null; },
    });
  }
  return connection;
}

export async function readDevice() {
  return (await db()).get("device", "device");
}

export async function writeDevice(device) {
  await (await db()).put("device", device, "device");
}

/** Everything this app stored, gone: the database with the keys, the list, the outbox. */
export async function wipeAll() {
  if (connection) { connection.close(); connection = null; }
  await deleteDB(DB_NAME);
}

/** The sealed part of the store, readable with the data key while the app is unlocked. */
export class Vault {
  constructor(dataKey) { this.dataKey = dataKey; }

  async get(name) {
    const sealed = await (await db()).get("vault", name);
    return sealed ? open(this.dataKey, `vault/${name}`, sealed) : null;
  }

  async put(name, value) {
    const sealed = await seal(this.dataKey, `vault/${name}`, value);
    await (await db()).put("vault", sealed, name);
  }

  async #all(store) {
    const database = await db();
    const tx = database.transaction(store);
    const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll()]);
    return Promise.all(keys.map((key, index) => open(this.dataKey, `${store}/${key}`, values[index])));
  }

  cases() { return this.#all("cases"); }

  async case(caseId) {
    const sealed = await (await db()).get("cases", caseId);
    return sealed ? open(this.dataKey, `cases/${caseId}`, sealed) : null;
  }

  /** A pull's upserts and removals and its sync state, in one transaction: all or nothing. */
  async applyPull(list, syncState) {
    const sealedCases = await Promise.all(list.upserts.map(async (item) => [item.id, await seal(this.dataKey, `cases/${item.id}`, item)]));
    const sealedState = await seal(this.dataKey, "vault/sync", syncState);
    // Sealing first: an IndexedDB transaction ends at the first await that is not its own.
    const database = await db();
    const tx = database.transaction(["cases", "vault"], "readwrite");
    const cases = tx.objectStore("cases");
    const work = [];
    if (list.full) work.push(cases.clear());
    for (const removal of list.removed) work.push(cases.delete(removal.case_id));
    for (const [id, sealed] of sealedCases) work.push(cases.put(sealed, id));
    work.push(tx.objectStore("vault").put(sealedState, "sync"));
    await Promise.all([...work, tx.done]);
  }

  async outbox() {
    return (await this.#all("outbox")).sort((a, b) => a.n - b.n);
  }

  async results() {
    return (await this.#all("results")).sort((a, b) => b.n - a.n);
  }

  /** Events recorded together land together (a visit and its card), numbered in order. */
  async record(events) {
    const base = Date.now() * 1000;
    const sealed = await Promise.all(events.map(async (event, index) => [
      event.event_id, await seal(this.dataKey, `outbox/${event.event_id}`, { n: base + index, event }),
    ]));
    const tx = (await db()).transaction("outbox", "readwrite");
    await Promise.all([...sealed.map(([id, record]) => tx.store.put(record, id)), tx.done]);
  }

  /** Answered events leave the outbox and join the results, in one transaction. */
  async settle(answered) {
    const now = Date.now() * 1000;
    const sealed = await Promise.all(answered.map(async ({ event, result }, index) => [
      event.event_id, await seal(this.dataKey, `results/${event.event_id}`, { n: now + index, event, result }),
    ]));
    const tx = (await db()).transaction(["outbox", "results"], "readwrite");
    const work = [];
    for (const [id, record] of sealed) {
      work.push(tx.objectStore("outbox").delete(id), tx.objectStore("results").put(record, id));
    }
    await Promise.all([...work, tx.done]);
  }

  async clearResults() {
    await (await db()).clear("results");
  }
}
