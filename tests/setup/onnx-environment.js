// Jest runs each test file in its own realm, with its own Float32Array and friends. The native
// onnxruntime-node addon builds output tensors' data with the main realm's typed arrays, and
// onnxruntime-common checks them with `instanceof` against the test realm's, which refuses some
// outputs (a text-only Qwen2-VL generation trips it). The test realm gets the main realm's typed
// array constructors, so both sides agree; nothing else changes.
const { TestEnvironment } = require('jest-environment-node');

const TYPED_ARRAYS = ['Float32Array', 'Float64Array', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array'];

class OnnxEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED_ARRAYS) this.global[name] = globalThis[name];
  }
}

module.exports = OnnxEnvironment;
