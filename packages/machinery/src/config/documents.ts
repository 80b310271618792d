// Documents other than v1alpha1 that may sit beside it in a multi-document config. Each is matched
// by apiVersion + kind; the field names follow upstream's documents of the same kind.
import { obj, opt, req, str, type Infer, type ObjectNode } from './schema.ts';

const header = {
  apiVersion: req(str({ enum: ['v1alpha1'] }), 'schema of this document'),
};

/** A kind of extra document: its descriptor and the field naming it (for patch matching). */
export interface DocumentKind {
  readonly kind: string;
  readonly descriptor: ObjectNode;
  /** Field holding the document's name, when documents of this kind can repeat. */
  readonly nameField?: string;
}

const kmsgLog = obj('KmsgLogConfig', {
  ...header,
  kind: req(str({ enum: ['KmsgLogConfig'] }), 'document kind'),
  name: req(str(), 'name of this log destination'),
  url: req(str({ format: 'url' }), 'where kernel messages are sent, e.g. tcp://10.0.0.1:3333'),
});

const eventSink = obj('EventSinkConfig', {
  ...header,
  kind: req(str({ enum: ['EventSinkConfig'] }), 'document kind'),
  endpoint: req(str(), 'host:port of the gRPC event sink'),
});

const watchdog = obj('WatchdogTimerConfig', {
  ...header,
  kind: req(str({ enum: ['WatchdogTimerConfig'] }), 'document kind'),
  device: req(str(), 'watchdog device, e.g. /dev/watchdog0'),
  timeout: opt(str({ format: 'duration' }), 'watchdog timeout'),
});

const trustedRoots = obj('TrustedRootsConfig', {
  ...header,
  kind: req(str({ enum: ['TrustedRootsConfig'] }), 'document kind'),
  name: req(str(), 'name of this CA bundle'),
  certificates: req(str(), 'PEM certificates trusted in addition to the system ones'),
});

const sideroLink = obj('SideroLinkConfig', {
  ...header,
  kind: req(str({ enum: ['SideroLinkConfig'] }), 'document kind'),
  apiUrl: req(str({ format: 'url' }), 'SideroLink API URL'),
  uniqueToken: opt(str(), 'token identifying this machine'),
});

const hostname = obj('HostnameConfig', {
  ...header,
  kind: req(str({ enum: ['HostnameConfig'] }), 'document kind'),
  hostname: opt(str(), 'static hostname'),
  auto: opt(str({ enum: ['stable', 'off'] }), 'how a hostname is made when none is set'),
});

/** The extra document kinds we understand. */
export const documentKinds: readonly DocumentKind[] = [
  { kind: 'KmsgLogConfig', descriptor: kmsgLog, nameField: 'name' },
  { kind: 'EventSinkConfig', descriptor: eventSink },
  { kind: 'WatchdogTimerConfig', descriptor: watchdog },
  { kind: 'TrustedRootsConfig', descriptor: trustedRoots, nameField: 'name' },
  { kind: 'SideroLinkConfig', descriptor: sideroLink },
  { kind: 'HostnameConfig', descriptor: hostname },
];

/** Finds the kind descriptor of a document kind name. */
export function findDocumentKind(kind: string): DocumentKind | undefined {
  return documentKinds.find((k) => k.kind === kind);
}

/** A KmsgLogConfig document. */
export type KmsgLogConfig = Infer<typeof kmsgLog>;

/** Any non-v1alpha1 document: apiVersion, kind and its own fields. */
export interface ExtraDocument {
  apiVersion: string;
  kind: string;
  [field: string]: unknown;
}
