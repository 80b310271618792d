// trustd's wire constants, apart from the grpc-js client so trustd itself can use them
// without bundling grpc-js.

/** The gRPC metadata key carrying the machine token to trustd (upstream's token credentials). */
export const TRUSTD_TOKEN_METADATA = 'token';
