/**
 * A fetch that keeps track of the requests it has not finished, and in which phase each is (waiting
 * for the answer's headers, or reading its body): what a stalled test reports, to tell a request the
 * server never answered from one whose answer was never read to the end.
 */
export interface TracedFetch {
  fetch: typeof fetch;
  /** Unfinished requests, oldest first, e.g. `GET /v1/x (body, 12 s)`; empty when none. */
  pending(): string[];
}

export function tracedFetch(inner: typeof fetch = globalThis.fetch): TracedFetch {
  const open = new Map<number, { what: string; phase: 'headers' | 'body'; since: number }>();
  let next = 0;
  const traced = (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const id = next++;
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const entry = { what: `${init?.method ?? 'GET'} ${new URL(url).pathname}`, phase: 'headers' as 'headers' | 'body', since: Date.now() };
    open.set(id, entry);
    let res: Response;
    try {
      res = await inner(input, init);
    } catch (err) {
      open.delete(id);
      throw err;
    }
    entry.phase = 'body';
    entry.since = Date.now();
    // The body is read through text() (HttpClient); the request is done when that settles.
    const text = res.text.bind(res);
    res.text = () => text().finally(() => open.delete(id));
    return res;
  }) as typeof fetch;
  return {
    fetch: traced,
    pending: () => [...open.values()].map((e) => `${e.what} (${e.phase}, ${Math.round((Date.now() - e.since) / 1000)} s)`),
  };
}
