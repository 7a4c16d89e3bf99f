import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Element types of Facet's graphs (float64 only for the training gradient checks). */
export type OnnxElementType = 'float32' | 'float64' | 'int64' | 'bool';

const DATA_TYPE: Record<OnnxElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** A fixed size or a symbolic name (`rows`). */
export type OnnxDimension = number | string;

/** Integers become INT attributes; `{ float: 1 }` forces FLOAT. */
export type OnnxAttributeValue = number | number[] | string | { float: number };

/** Opset the graphs target (TopK with a K input, ScatterElements, ReduceMean with axes attribute). */
export const SAE_OPSET = 17;

/**
 * Writes a small ONNX model in memory: named inputs, nodes, small constants and outputs.
 * Large tensors are never embedded: they are graph inputs, so a model stays far below the
 * 2 GiB protobuf cap whatever the SAE's size.
 */
export class OnnxGraph {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly name: string;
  private counter = 0;

  constructor(name: string) {
    this.name = name;
  }

  input(name: string, type: OnnxElementType, dims: OnnxDimension[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Declares `value` (an existing tensor name) as a graph output called `name`. */
  output(value: string, name: string, type: OnnxElementType, dims: OnnxDimension[]): void {
    if (value !== name) this.node('Identity', [value], [name]);
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** Adds a node and returns its first output's name (fresh unless `outputName` is given). */
  op(opType: string, inputs: string[], attributes: Record<string, OnnxAttributeValue> = {}, outputName?: string): string {
    return this.node(opType, inputs, outputName === undefined ? 1 : [outputName], attributes)[0] as string;
  }

  /** Adds a node with several outputs; returns their names. */
  node(opType: string, inputs: string[], outputs: number | string[] = 1, attributes: Record<string, OnnxAttributeValue> = {}): string[] {
    const names = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType)) : outputs;
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        input: inputs,
        output: names,
        name: this.fresh(`${opType}_node`),
        attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
      }),
    );
    return names;
  }

  /** A small constant of any numeric type (1-D unless `dims` says otherwise; `[]` is a scalar). */
  constant(type: 'float32' | 'float64' | 'int64', values: number[], dims: number[] = [values.length]): string {
    if (type === 'float32') return this.constantFloat(values, dims);
    if (type === 'int64') return this.constantInt64(values, dims);
    const name = this.fresh('const_d');
    this.initializers.push(onnx.TensorProto.create({ name, dataType: DATA_TYPE.float64, dims, doubleData: values }));
    return name;
  }

  /** A float32 constant (scalar when `dims` is `[]`). */
  constantFloat(values: number[], dims: number[] = []): string {
    const name = this.fresh('const_f');
    this.initializers.push(onnx.TensorProto.create({ name, dataType: DATA_TYPE.float32, dims, floatData: values }));
    return name;
  }

  /** An int64 constant (1-D unless `dims` says otherwise). */
  constantInt64(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('const_i');
    this.initializers.push(onnx.TensorProto.create({ name, dataType: DATA_TYPE.int64, dims, int64Data: values }));
    return name;
  }

  /**
   * A float32 initializer whose bytes live outside the model (ONNX external data), in the
   * in-memory file `location` handed to the session as `externalData`; keeps the protobuf small
   * while letting the runtime treat the weights as constants (prepacking, one upload to a GPU).
   */
  externalInitializer(name: string, dims: number[], location: string): string {
    const length = dims.reduce((a, b) => a * b, 1) * 4;
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dataType: DATA_TYPE.float32,
        dims,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          onnx.StringStringEntryProto.create({ key: 'location', value: location }),
          onnx.StringStringEntryProto.create({ key: 'offset', value: '0' }),
          onnx.StringStringEntryProto.create({ key: 'length', value: String(length) }),
        ],
      }),
    );
    return name;
  }

  /** Serialised ModelProto for `InferenceSession.create(bytes)`. */
  toBytes(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'facet',
      opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: SAE_OPSET })],
      graph: onnx.GraphProto.create({
        name: this.name,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }

  private fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }
}

function valueInfo(name: string, type: OnnxElementType, dims: OnnxDimension[]): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: DATA_TYPE[type],
        shape: onnx.TensorShapeProto.create({
          dim: dims.map((dim) => (typeof dim === 'number' ? onnx.TensorShapeProto.Dimension.create({ dimValue: dim }) : onnx.TensorShapeProto.Dimension.create({ dimParam: dim }))),
        }),
      }),
    }),
  });
}

function attribute(name: string, value: OnnxAttributeValue): InstanceType<typeof onnx.AttributeProto> {
  const types = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return onnx.AttributeProto.create({ name, type: types.STRING, s: new TextEncoder().encode(value) });
  if (Array.isArray(value)) return onnx.AttributeProto.create({ name, type: types.INTS, ints: value });
  if (typeof value === 'object') return onnx.AttributeProto.create({ name, type: types.FLOAT, f: value.float });
  if (Number.isInteger(value)) return onnx.AttributeProto.create({ name, type: types.INT, i: value });
  return onnx.AttributeProto.create({ name, type: types.FLOAT, f: value });
}
