import { Code, TalosError } from '@talos-ts/cosi';

/** An OCI image reference split into its parts: `registry/repository[:tag][@digest]`. */
export interface ImageReference {
  /** Host[:port] of the registry; `docker.io` when the reference names none. */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  /** `sha256:<hex>`; when set it wins over the tag, as in docker's resolution. */
  readonly digest?: string;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;

const invalid = (ref: string, why: string): TalosError => new TalosError(Code.InvalidArgument, `image reference ${JSON.stringify(ref.slice(0, 128))}: ${why}`);

/**
 * Parses an image reference with docker's rules: the first path component is a registry when it
 * holds a dot or a port or is `localhost`; otherwise the registry is docker.io (and a one-part name
 * gets `library/`). Neither tag nor digest means `latest`. Throws InvalidArgument.
 */
export function parseImageReference(ref: string): ImageReference {
  let rest = ref.trim();
  if (rest === '') throw invalid(ref, 'empty');
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(ref, 'digest must be sha256: and 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(ref, `tag ${JSON.stringify(tag)} is not valid`);
  }
  let registry = 'docker.io';
  const slash = rest.indexOf('/');
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[')) {
      registry = first;
      rest = rest.slice(slash + 1);
      if (!HOST.test(registry)) throw invalid(ref, `registry ${JSON.stringify(registry)} is not a host[:port]`);
    }
  }
  if (registry === 'docker.io' && !rest.includes('/')) rest = `library/${rest}`;
  if (!REPOSITORY.test(rest)) throw invalid(ref, `repository ${JSON.stringify(rest)} is not valid (lowercase letters, digits, separators)`);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: rest, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** The reference written back in its full form. */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** What a manifest request names: the digest when there is one, else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** True when a string looks like an image reference rather than a URL (it has no scheme). */
export function looksLikeImageReference(s: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(s.trim());
}
