"""ONNX Runtime's int8 peer: a QDQ ONNX model written from PyTorch's int8 ResNet.

  write_qdq_resnet(quantized, in_shape, path)

`quantized` is torchvision's quantizable ResNet after fuse_model, prepare,
calibration and convert (torch_models.int8_model builds it), so the ONNX model
has PyTorch's scales exactly: one scale and zero point per activation tensor
(uint8), one scale per output channel of every weight (int8, zero point 0).
torch 1.13's exporter cannot export that model (quantized modules) nor the
prepared one (observers), so the graph is written here, node by node, in the
QDQ form ONNX Runtime fuses into integer kernels:

  x -> QuantizeLinear -> DequantizeLinear -> Conv(DQ(int8 W), DQ(int32 bias)) [-> Relu]
    -> QuantizeLinear -> DequantizeLinear -> ...      (ORT: QLinearConv; Relu folds into Q at zero point 0)
  Add(DQ, DQ) -> Relu -> Q                            (ORT: QLinearAdd)
  DQ -> MaxPool / GlobalAveragePool -> Q, same scale  (ORT: int8 MaxPool, QLinearGlobalAveragePool)
  DQ -> Gemm(DQ(int8 W), DQ(int32 bias)) -> Q -> DQ   (ORT: QGemm), float logits

The bias is int32 at scale s_in * s_w per channel, as the TFLite scheme and
ORT's QDQ fusion want it. No onnx package is needed: the protobuf messages
(onnx.proto: ModelProto, GraphProto, NodeProto, TensorProto, ...) are
encoded below, the few fields this graph uses.
"""
import struct

import numpy as np

# ---- protobuf wire format (varint = 0, 64-bit = 1, length-delimited = 2, 32-bit = 5) ----


def _varint(n):
    n &= (1 << 64) - 1  # negative int64 as two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _int(field, v):
    return _varint(field << 3) + _varint(int(v))


def _bytes(field, b):
    return _varint(field << 3 | 2) + _varint(len(b)) + b


def _str(field, s):
    return _bytes(field, s.encode())


def _float(field, f):
    return _varint(field << 3 | 5) + struct.pack("<f", f)


# onnx.proto's TensorProto.DataType and AttributeProto.AttributeType
ELEM = {np.dtype(np.float32): 1, np.dtype(np.uint8): 2, np.dtype(np.int8): 3, np.dtype(np.int32): 6,
        np.dtype(np.int64): 7}
ATTR_FLOAT, ATTR_INT, ATTR_INTS = 1, 2, 7


def _tensor(name, a):
    """TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian)."""
    a = np.asarray(a)  # not ascontiguousarray: it makes a scalar 1-d, and the scales must be scalars
    return (b"".join(_int(1, d) for d in a.shape) + _int(2, ELEM[a.dtype]) + _str(8, name)
            + _bytes(9, a.astype(a.dtype.newbyteorder("<")).tobytes()))


def _attribute(name, v):
    """AttributeProto: name (1), f (2), i (3), ints (8), type (20)."""
    if isinstance(v, float):
        return _str(1, name) + _float(2, v) + _int(20, ATTR_FLOAT)
    if isinstance(v, int):
        return _str(1, name) + _int(3, v) + _int(20, ATTR_INT)
    return _str(1, name) + b"".join(_int(8, i) for i in v) + _int(20, ATTR_INTS)


def _node(op, inputs, outputs, name, attrs):
    """NodeProto: input (1), output (2), name (3), op_type (4), attribute (5)."""
    return (b"".join(_str(1, i) for i in inputs) + b"".join(_str(2, o) for o in outputs) + _str(3, name)
            + _str(4, op) + b"".join(_bytes(5, _attribute(k, v)) for k, v in attrs.items()))


def _float_value_info(name, shape):
    """ValueInfoProto name (1), type (2): TypeProto.tensor_type (1): elem_type (1), shape (2) of dim_value (1)."""
    dims = b"".join(_bytes(1, _int(1, d)) for d in shape)
    return _str(1, name) + _bytes(2, _bytes(1, _int(1, 1) + _bytes(2, dims)))


# ---- the graph ------------------------------------------------------------------


class QDQGraph:
    """Nodes and initializers in the order they are added; a tensor is (DQ output name, scale, zero point)."""

    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def name(self, stem):
        self.count += 1
        return f"{stem}_{self.count}"

    def const(self, stem, a):
        n = self.name(stem)
        self.inits.append(_tensor(n, a))
        return n

    def op(self, op, inputs, stem, output=None, **attrs):
        out = output or self.name(stem)
        self.nodes.append(_node(op, inputs, [out], out, attrs))
        return out

    def requantize(self, x, scale, zero_point, output=None):
        """float x -> QuantizeLinear(uint8) -> DequantizeLinear: the tensor as the next int8 op reads it."""
        scale, zero_point = float(scale), int(zero_point)
        s = self.const("scale", np.array(scale, np.float32))
        z = self.const("zero_point", np.array(zero_point, np.uint8))
        q = self.op("QuantizeLinear", [x, s, z], "q")
        return self.op("DequantizeLinear", [q, s, z], "dq", output), scale, zero_point

    def weights(self, module, in_scale):
        """DQ of the int8 weight (per output channel, axis 0) and of the int32 bias at s_in * s_w."""
        w = module.weight()
        s_w = w.q_per_channel_scales().numpy().astype(np.float64)
        assert w.q_per_channel_axis() == 0 and not w.q_per_channel_zero_points().any(), "symmetric per-channel"
        ws = self.const("w_scale", s_w.astype(np.float32))
        wq = self.op("DequantizeLinear", [self.const("w", w.int_repr().numpy()), ws,
                                          self.const("w_zero", np.zeros(len(s_w), np.int8))], "w_dq", axis=0)
        bias = module.bias()
        if bias is None:
            return wq, None
        s_b = in_scale * s_w
        b = np.clip(np.round(bias.detach().numpy().astype(np.float64) / s_b), -2**31, 2**31 - 1).astype(np.int32)
        bq = self.op("DequantizeLinear", [self.const("b", b), self.const("b_scale", s_b.astype(np.float32)),
                                          self.const("b_zero", np.zeros(len(s_w), np.int32))], "b_dq", axis=0)
        return wq, bq

    def conv(self, x, module, relu):
        name, scale, _ = x
        w, b = self.weights(module, scale)
        k = module.weight().shape[2:]
        y = self.op("Conv", [name, w] + ([b] if b else []), "conv", kernel_shape=list(k),
                    strides=list(module.stride), pads=list(module.padding) * 2, dilations=list(module.dilation),
                    group=module.groups)
        if relu:
            y = self.op("Relu", [y], "relu")
        return self.requantize(y, module.scale, module.zero_point)

    def add_relu(self, a, b, functional):
        y = self.op("Relu", [self.op("Add", [a[0], b[0]], "add")], "relu")
        return self.requantize(y, functional.scale, functional.zero_point)

    def same_scale(self, op, x, stem, **attrs):
        """An op whose int8 output keeps its input's scale and zero point (pooling)."""
        return self.requantize(self.op(op, [x[0]], stem, **attrs), x[1], x[2])

    def linear(self, x, module, output):
        w, b = self.weights(module, x[1])
        y = self.op("Gemm", [x[0], w] + ([b] if b else []), "gemm", transB=1)
        return self.requantize(y, module.scale, module.zero_point, output)

    def model(self, in_shape, out_shape, x, y):
        graph = (b"".join(_bytes(1, n) for n in self.nodes) + _str(2, "lucidgen_bench_qdq")
                 + b"".join(_bytes(5, t) for t in self.inits)
                 + _bytes(11, _float_value_info(x, in_shape)) + _bytes(12, _float_value_info(y, out_shape)))
        # ModelProto: ir_version (1) 8, producer_name (2), graph (7), opset_import (8) {domain "", version 17}
        return _int(1, 8) + _str(2, "lucidgen bench/qdq_onnx.py") + _bytes(7, graph) + _bytes(8, _int(2, 17))


def _block(g, x, block):
    """torchvision's QuantizableBasicBlock or QuantizableBottleneck, converted."""
    if hasattr(block, "conv3"):  # bottleneck: 1x1 -> 3x3 -> 1x1
        y = g.conv(g.conv(x, block.conv1, True), block.conv2, True)
        y, functional = g.conv(y, block.conv3, False), block.skip_add_relu
    else:
        y, functional = g.conv(g.conv(x, block.conv1, True), block.conv2, False), block.add_relu
    shortcut = g.conv(x, block.downsample[0], False) if block.downsample is not None else x
    return g.add_relu(y, shortcut, functional)


def write_qdq_resnet(quantized, in_shape, path):
    """Writes the QDQ ONNX model of a converted torchvision quantizable ResNet; input 'input', output 'output'."""
    g = QDQGraph()
    x = g.requantize("input", float(quantized.quant.scale), int(quantized.quant.zero_point))
    x = g.conv(x, quantized.conv1, True)
    mp = quantized.maxpool
    x = g.same_scale("MaxPool", x, "maxpool", kernel_shape=[mp.kernel_size] * 2, strides=[mp.stride] * 2,
                     pads=[mp.padding] * 4)
    for layer in (quantized.layer1, quantized.layer2, quantized.layer3, quantized.layer4):
        for block in layer:
            x = _block(g, x, block)
    x = g.same_scale("GlobalAveragePool", x, "avgpool")
    x = (g.op("Flatten", [x[0]], "flatten", axis=1),) + x[1:]
    g.linear(x, quantized.fc, "output")  # PyTorch's DeQuantStub: float logits
    with open(path, "wb") as f:
        f.write(g.model(in_shape, [in_shape[0], quantized.fc.out_features], "input", "output"))
