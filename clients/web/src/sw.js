// The service worker: keeps the app shell (and only the shell) so the app opens with no network,
// a reload included. Personal data never passes through here: the API (/v1/) is not handled.
// A new version installs beside the old one and waits until the worker chooses to update.
const VERSION = __SHELL_VERSION__;
const SHELL = __SHELL_FILES__;
const PREFIX = "doorstep-field-";
const CACHE = `${PREFIX}${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" })))));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith("/field/")) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const shell = request.mode === "navigate" ? await cache.match("/field/") : await cache.match(request, { ignoreSearch: true });
    return shell || fetch(request);
  })());
});
