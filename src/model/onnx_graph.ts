/**
 * Reads the declared inputs and outputs (name, element type, shape) straight
 * from ONNX model bytes. onnxruntime-node 1.20 exposes only input *names*, and
 * the scorer must check *types* against the card too, so this walks the few
 * protobuf fields involved (ModelProto.graph → GraphProto.input/output →
 * ValueInfoProto → TypeProto.tensor_type) instead of pulling in a protobuf
 * library for four messages.
 *
 * @module
 */

/** One graph input or output as declared in the model. */
export interface GraphValue {
  name: string;
  /** ONNX element type name (`float`, `string`, `int64`, …), `other` for non-tensors. */
  type: string;
  /** Dimensions; `null` for a symbolic or unknown one. */
  shape: (number | null)[];
}

/** Declared inputs and outputs of the main graph. */
export interface GraphSignature {
  inputs: GraphValue[];
  outputs: GraphValue[];
}

// TensorProto.DataType numbers → names (the subset a tabular model uses).
const ELEM_TYPES: Record<number, string> = {
  1: "float",
  2: "uint8",
  3: "int8",
  6: "int32",
  7: "int64",
  8: "string",
  9: "bool",
  10: "float16",
  11: "double",
};

/** Parses the graph signature; throws a plain `Error` on bytes that are not ONNX. */
export function readGraphSignature(bytes: Uint8Array): GraphSignature {
  const graph = firstField(bytes, 7);
  if (!(graph instanceof Uint8Array)) throw new Error("no graph in the model");
  const inputs: GraphValue[] = [];
  const outputs: GraphValue[] = [];
  for (const [field, value] of fields(graph)) {
    if (field === 11 && value instanceof Uint8Array) inputs.push(valueInfo(value));
    if (field === 12 && value instanceof Uint8Array) outputs.push(valueInfo(value));
  }
  // skl2onnx declares initializers separately, so inputs are the real feeds.
  return { inputs, outputs };
}

function valueInfo(bytes: Uint8Array): GraphValue {
  let name = "";
  let type = "other";
  const shape: (number | null)[] = [];
  for (const [field, value] of fields(bytes)) {
    if (field === 1 && value instanceof Uint8Array) name = new TextDecoder().decode(value);
    if (field === 2 && value instanceof Uint8Array) {
      const tensor = firstField(value, 1);
      if (!(tensor instanceof Uint8Array)) continue;
      for (const [tf, tv] of fields(tensor)) {
        if (tf === 1 && typeof tv === "number") type = ELEM_TYPES[tv] ?? `type${tv}`;
        if (tf === 2 && tv instanceof Uint8Array) {
          for (const [df, dv] of fields(tv)) {
            if (df !== 1 || !(dv instanceof Uint8Array)) continue;
            const dim = firstField(dv, 1);
            shape.push(typeof dim === "number" ? dim : null);
          }
        }
      }
    }
  }
  return { name, type, shape };
}

function firstField(bytes: Uint8Array, wanted: number): Uint8Array | number | undefined {
  for (const [field, value] of fields(bytes)) if (field === wanted) return value;
  return undefined;
}

/** Yields (field number, varint value or length-delimited bytes); skips fixed-width fields. */
function* fields(bytes: Uint8Array): Generator<[number, Uint8Array | number]> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (pos >= bytes.length) throw new Error("truncated protobuf");
      const b = bytes[pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
      if (scale > 2 ** 63) throw new Error("bad protobuf varint");
    }
  };
  while (pos < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        yield [field, varint()];
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const length = varint();
        if (pos + length > bytes.length) throw new Error("truncated protobuf");
        yield [field, bytes.subarray(pos, pos + length)];
        pos += length;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new Error(`bad protobuf wire type ${key & 7}`);
    }
  }
}
