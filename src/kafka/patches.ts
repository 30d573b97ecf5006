/**
 * kafkajs hot-path fixes, measured in CPU profiles of `consume` and
 * `produce`. Must be the first import of every module that loads kafkajs:
 * grouping.ts and record_encoder.ts swap modules kafkajs keeps a reference
 * to once loaded (each exports a `*_PATCHED` flag that tests check).
 *
 * @module
 */
import "./grouping.ts";
import "./murmur2.ts";
import "./record_encoder.ts";
import "./varint.ts";
import "./gzip.ts";
