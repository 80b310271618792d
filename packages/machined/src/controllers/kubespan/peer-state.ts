import type { KubeSpanPeerState } from '@talos-ts/machinery';

/**
 * How long after the last handshake an established peer counts as down: WireGuard's reject-after
 * time (180 s) plus a margin (5 s) plus the time a rekey may take (90 s), as upstream's.
 */
export const PEER_DOWN_INTERVAL_MS = (180 + 5 + 90) * 1000;

/** How long a freshly set endpoint gets to complete a handshake before the peer counts as down. */
export const ENDPOINT_CONNECTION_TIMEOUT_MS = 15_000;

/** How often the manager re-reads the link and reconsiders endpoints (upstream's peer reconcile interval). */
export const PEER_RECONCILE_INTERVAL_MS = 30_000;

/** What rotation needs to know about one peer. Times are epoch ms; undefined is "never" (Go's zero time). */
export interface PeerRotation {
  /** The endpoint the link reports, '' when none. */
  readonly endpoint: string;
  /** The endpoint rotation last set, '' when none yet. */
  readonly lastUsedEndpoint: string;
  readonly lastEndpointChangeMs: number | undefined;
  readonly lastHandshakeMs: number | undefined;
}

const since = (nowMs: number, t: number | undefined): number => (t === undefined ? Number.POSITIVE_INFINITY : nowMs - t);

/**
 * The peer's state at `nowMs`. With T0 the last endpoint change: before T0+15 s a peer is up once
 * it shook hands after T0, else unknown; between T0+15 s and T0+275 s it is up or down by the same
 * test; after that only a handshake in the last 275 s keeps it up. A peer never given an endpoint
 * is unknown rather than down.
 */
export function peerState(p: PeerRotation, nowMs: number): KubeSpanPeerState {
  const sinceHandshake = since(nowMs, p.lastHandshakeMs);
  const sinceChange = since(nowMs, p.lastEndpointChangeMs);
  const shookSinceChange = p.lastHandshakeMs !== undefined && (p.lastEndpointChangeMs === undefined || p.lastHandshakeMs > p.lastEndpointChangeMs);
  let state: KubeSpanPeerState;
  if (sinceChange > PEER_DOWN_INTERVAL_MS) state = sinceHandshake < PEER_DOWN_INTERVAL_MS ? 'up' : 'down';
  else if (sinceChange < ENDPOINT_CONNECTION_TIMEOUT_MS) state = shookSinceChange ? 'up' : 'unknown';
  else state = shookSinceChange ? 'up' : 'down';
  if (state === 'down' && p.lastUsedEndpoint === '') state = 'unknown';
  return state;
}

/** A down peer, or one never given an endpoint, gets the next one. */
export function shouldChangeEndpoint(state: KubeSpanPeerState, p: PeerRotation): boolean {
  return state === 'down' || p.lastUsedEndpoint === '';
}

/**
 * The endpoint to try next: the first when none was used, else the one after the last used
 * (wrapping; the first again when the last used one is gone from the list). A peer whose only
 * endpoint is already in use keeps it (undefined: no change).
 */
export function pickNextEndpoint(p: PeerRotation, endpoints: readonly string[]): string | undefined {
  if (endpoints.length === 0) return undefined;
  if (p.lastUsedEndpoint === '') return endpoints[0];
  const idx = endpoints.indexOf(p.lastUsedEndpoint);
  if (endpoints.length === 1 && idx === 0 && p.endpoint === p.lastUsedEndpoint) return undefined;
  return endpoints[(idx + 1) % endpoints.length];
}
