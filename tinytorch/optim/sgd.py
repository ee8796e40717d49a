"""SGD: stochastic gradient descent with optional momentum, Nesterov momentum and weight decay."""

from ..seams import seam
from .optimizer import Optimizer, check_hyperparameter


@seam("SGD")
class SGD(Optimizer):
    """Same update as `torch.optim.SGD`. For each parameter p with gradient g:

        g = g + weight_decay * p                         (if weight_decay)
        buf = g  on the first step, then  buf = momentum * buf + (1 - dampening) * g
        g = g + momentum * buf  if nesterov  else  buf   (if momentum)
        p = p - lr * g
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        super()._check_group(group)
        for name in ("momentum", "dampening", "weight_decay"):
            check_hyperparameter("SGD", name, group[name])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: nesterov momentum requires momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    def step(self):
        """Update every parameter that has a gradient (parameters with grad None are skipped)."""
        for group, p in self._updates():
            # Python floats keep float32 arrays float32 (NumPy 2 treats them as weak scalars).
            lr, momentum = float(group["lr"]), float(group["momentum"])
            weight_decay = float(group["weight_decay"])
            g = p.grad.data
            if group["maximize"]:
                g = -g
            if weight_decay != 0:
                g = g + weight_decay * p.data
            if momentum != 0:
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = g.copy()
                else:
                    buf *= momentum
                    dampening = group["dampening"]
                    buf += g if dampening == 0 else (1 - dampening) * g
                g = g + momentum * buf if group["nesterov"] else buf
            # In place on the array: views of p.data (and the optimizer's own
            # references) see the update, as with PyTorch's p.add_().
            p.data -= lr * g
