/**
 * A pretend internet for the SSRF tests, with no real network: chosen host names resolve (through dns.lookup,
 * which the server's guarded lookup calls) to the addresses given, and connections to the "public" ones are
 * routed to a server on loopback — after the server's own address check has run on the public address.
 */
import dns from 'node:dns';
import http from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import type { LookupFunction } from 'node:net';

type Address = { address: string; family: number };

export function fakeNetwork(names: Record<string, string>, routes: Record<string, string>): () => void {
  const realLookup = dns.lookup;
  const fake = (hostname: string, options: unknown, callback: unknown) => {
    const address = names[hostname];
    if (address === undefined) return (realLookup as CallableFunction)(hostname, options, callback);
    const family = address.includes(':') ? 6 : 4;
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
    const cb = (typeof options === 'function' ? options : callback) as CallableFunction;
    process.nextTick(() => (all ? cb(null, [{ address, family }]) : cb(null, address, family)));
  };
  (dns as { lookup: unknown }).lookup = fake;
  syncBuiltinESMExports();

  type CreateConnection = (this: unknown, options: { lookup?: LookupFunction }, cb: unknown) => unknown;
  const agent = http.globalAgent as unknown as { createConnection: CreateConnection };
  const ownCreate = Object.prototype.hasOwnProperty.call(agent, 'createConnection');
  const realCreate = agent.createConnection;
  const route = (a: Address): Address => (routes[a.address] ? { address: routes[a.address]!, family: 4 } : a);
  agent.createConnection = function (options: { lookup?: LookupFunction }, cb: unknown) {
    const checked = options.lookup;
    if (!checked) return realCreate.call(this, options, cb);
    const lookup: LookupFunction = (hostname, opts, callback) =>
      checked(hostname, opts, (err, address, family) => {
        if (err) return callback(err, address, family);
        if (Array.isArray(address)) return (callback as CallableFunction)(null, address.map(route));
        const routed = route({ address, family: family ?? 4 });
        callback(null, routed.address, routed.family);
      });
    return realCreate.call(this, { ...options, lookup }, cb);
  };

  return () => {
    (dns as { lookup: unknown }).lookup = realLookup;
    syncBuiltinESMExports();
    if (ownCreate) agent.createConnection = realCreate;
    else delete (agent as { createConnection?: CreateConnection }).createConnection;
  };
}
