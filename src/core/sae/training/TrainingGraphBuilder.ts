import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Element types the training graphs are built in (float64 for gradient checks). */
export type TrainingElementType = 'float32' | 'float64' | 'int64';

const DATA_TYPE: Record<TrainingElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
};

/** A dimension: a fixed size or a symbolic name (batch rows, K). */
export type GraphDimension = number | string;

/** Integers become INT attributes; write `{ float: 1 }` for a FLOAT attribute with an integral value. */
type AttributeValue = number | number[] | string | { float: number };

/**
 * A small ONNX graph writer for the training graphs: named inputs, nodes, constants and outputs,
 * serialised to a ModelProto that onnxruntime-node loads from memory. Weights are always graph
 * inputs (they change every step and may exceed the 2 GiB protobuf cap).
 */
export class TrainingGraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly graphName: string;
  private counter = 0;

  constructor(graphName: string) {
    this.graphName = graphName;
  }

  input(name: string, type: TrainingElementType, dims: GraphDimension[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(name: string, type: TrainingElementType, dims: GraphDimension[]): string {
    this.outputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Adds one node; returns its output names (fresh names unless given). */
  node(opType: string, inputs: string[], outputs: number | string[] = 1, attributes: Record<string, AttributeValue> = {}): string[] {
    const outputNames = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType)) : outputs;
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        input: inputs,
        output: outputNames,
        name: this.fresh(`${opType}_node`),
        attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
      }),
    );
    return outputNames;
  }

  /** Single-output node. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, outputName?: string): string {
    const [name] = this.node(opType, inputs, outputName === undefined ? 1 : [outputName], attributes);
    return name as string;
  }

  /** A constant tensor stored in the model (small values only: axes, scalars). */
  constant(type: TrainingElementType, values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('const');
    const tensor = onnx.TensorProto.create({ name, dataType: DATA_TYPE[type], dims });
    if (type === 'int64') tensor.int64Data = values;
    else if (type === 'float64') tensor.doubleData = values;
    else tensor.floatData = values;
    this.initializers.push(tensor);
    return name;
  }

  toBytes(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'facet-sae-training',
      opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 17 })],
      graph: onnx.GraphProto.create({
        name: this.graphName,
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

function valueInfo(name: string, type: TrainingElementType, dims: GraphDimension[]): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: DATA_TYPE[type],
        shape: onnx.TensorShapeProto.create({
          dim: dims.map((dim) =>
            typeof dim === 'number'
              ? onnx.TensorShapeProto.Dimension.create({ dimValue: dim })
              : onnx.TensorShapeProto.Dimension.create({ dimParam: dim }),
          ),
        }),
      }),
    }),
  });
}

function attribute(name: string, value: AttributeValue): InstanceType<typeof onnx.AttributeProto> {
  const type = onnx.AttributeProto.AttributeType;
  if (typeof value === 'object' && !Array.isArray(value)) return onnx.AttributeProto.create({ name, type: type.FLOAT, f: value.float });
  if (typeof value === 'string') return onnx.AttributeProto.create({ name, type: type.STRING, s: new TextEncoder().encode(value) });
  if (Array.isArray(value)) return onnx.AttributeProto.create({ name, type: type.INTS, ints: value });
  if (Number.isInteger(value)) return onnx.AttributeProto.create({ name, type: type.INT, i: value });
  return onnx.AttributeProto.create({ name, type: type.FLOAT, f: value });
}
