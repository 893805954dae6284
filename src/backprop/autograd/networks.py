"""The book's networks computed with Tensors: TensorTwoLayerNet and TensorMultiLayerNet.

Book: 5.7.2 (TwoLayerNet with backpropagation), 6.1-6.4 (MultiLayerNet).

Same protocol, parameters and initialisation as ``backprop.networks.TwoLayerNet`` and
``MultiLayerNet``: they are siblings, with the same base (``NetworkBase``: ``params``,
``accuracy``, ``gradient``, ``numerical_gradient``, ``astype``, ``load_params``, ``dtype``) and
the same architecture classes (``_TwoLayer``, ``_MultiLayer``: arguments, initial weights,
``config``), so the optimizers and the trainer use either engine. The difference is how the
gradient is found: instead of calling ``backward`` on a fixed list of layers, each call wraps
the parameter arrays in Tensors, records the graph of the loss (the same node classes:
``Affine``, ``Relu``, ``SoftmaxWithLoss``) and lets ``loss.backward()`` walk it. With the same
weights both engines compute the same gradients, to rounding.

The Tensors wrap the very arrays of ``params`` (no copy), and a fresh graph is recorded for
every batch, so in-place updates by an optimizer are seen at the next call. The input ``x``
is a constant: the first Affine node does not compute the gradient of the images.
"""

from __future__ import annotations

from backprop.autograd.core import Tensor, no_grad
from backprop.autograd.ops import affine, softmax_cross_entropy
from backprop.networks import NetworkBase, _MultiLayer, _TwoLayer

__all__ = ["TensorMultiLayerNet", "TensorTwoLayerNet"]


class _TensorEngine(NetworkBase):
    """The Tensor versions of ``predict``, ``loss`` and ``loss_and_gradient``.

    A subclass implements ``_scores(x, params)``: the network's forward pass on Tensors.
    There are no layers to build: the graph, with fresh nodes, is recorded by every call.
    """

    def _scores(self, x, params: dict[str, Tensor]) -> Tensor:
        raise NotImplementedError

    def _tensors(self) -> dict[str, Tensor]:
        return {key: Tensor(value, name=key) for key, value in self.params.items()}

    @staticmethod
    def _input(x) -> Tensor:
        # The batch is a constant: no gradient is computed for the images.
        return x if isinstance(x, Tensor) else Tensor(x, name="x", requires_grad=False)

    def loss_tensor(self, x, t, params: dict[str, Tensor] | None = None) -> Tensor:
        """The loss as a scalar Tensor with its graph (for ``backward`` or ``draw_graph``).

        ``params`` maps each parameter name to a Tensor; by default new Tensors named
        ``W1``, ``b1``, ... wrapping ``self.params``. (Weight decay is not part of the graph:
        ``loss`` and ``loss_and_gradient`` add it, as the layer networks do.)
        """
        params = self._tensors() if params is None else params
        loss = softmax_cross_entropy(self._scores(self._input(x), params), t)
        loss.name = "L"
        return loss

    def predict(self, x):
        """Scores (before softmax) for a batch ``x`` of shape (N, input_size), an ndarray."""
        with no_grad():
            return self._scores(self._input(x), self._tensors()).data

    def loss(self, x, t) -> float:
        """Mean cross-entropy loss of the batch; ``t`` labels (N,) or one-hot (N, C)."""
        with no_grad():
            return float(self.loss_tensor(x, t).data) + self._decay_loss()

    def loss_and_gradient(self, x, t):
        """The loss of the batch and the gradients (keys of ``params``), by ``backward``."""
        params = self._tensors()
        loss = self.loss_tensor(x, t, params)
        loss.backward(retain_grad=False)
        grads = {key: params[key].grad for key in self.params}
        self._add_decay_grads(grads)
        return float(loss.data) + self._decay_loss(), grads


class TensorTwoLayerNet(_TwoLayer, _TensorEngine):
    """TwoLayerNet on the automatic graph: affine → relu → affine → softmax_cross_entropy.

    Same arguments as ``TwoLayerNet`` (and the same initial weights for the same seed).
    """

    def _scores(self, x, params):
        h = affine(x, params["W1"], params["b1"]).relu()
        return affine(h, params["W2"], params["b2"])


class TensorMultiLayerNet(_MultiLayer, _TensorEngine):
    """MultiLayerNet on the automatic graph: (affine → activation) × n → affine.

    Same arguments as ``MultiLayerNet`` (and the same initial weights for the same seed).
    """

    def _scores(self, x, params):
        n = len(self.hidden_size_list) + 1
        h = x
        for i in range(1, n + 1):
            h = affine(h, params[f"W{i}"], params[f"b{i}"])
            if i < n:
                h = h.relu() if self.activation == "relu" else h.sigmoid()
        return h
