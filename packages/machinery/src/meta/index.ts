export { ADV_BYTES, ADV_COPY_BYTES, ADV_DATA_BYTES, decodeAdv, decodeAdvCopy, encodeAdv, encodeAdvCopy, MetaValues, type AdvSource, type DecodedAdv } from './adv.ts';
export { MetaTag, metaKeyId, parseMetaKey } from './tags.ts';
