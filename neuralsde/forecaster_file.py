"""The file of a fitted :class:`neuralsde.Forecaster` (:meth:`~neuralsde.Forecaster.save`,
:meth:`~neuralsde.Forecaster.load`): settings, weights, scalings, the data it was fitted to and
its training history, in one ``torch.save`` file written atomically."""

from __future__ import annotations

from pathlib import Path

import torch

from ._checks import atomic_write, write_bytes_with
from .data import Scaling, TimeSeries
from .sde import build_model

__all__ = ["FORMAT", "read_forecaster", "write_forecaster"]

FORMAT = "neuralsde-forecaster-1"


def write_forecaster(path, forecaster) -> Path:
    """Write the fitted ``forecaster`` to ``path`` (with the members of its mixture and its
    automatic configuration's record); returns the path."""
    payload = _payload(forecaster)
    if len(forecaster.members_) > 1:
        payload["members"] = [_payload(m) for m in forecaster.members_]
    payload["selection"] = forecaster.selection_
    return atomic_write(path, write_bytes_with(lambda handle: torch.save(payload, handle)))


def _payload(forecaster) -> dict:
    s = forecaster.series_
    return {"format": FORMAT, "params": forecaster.get_params(),
            "settings": forecaster.settings_, "spec": dict(forecaster.model_.spec),
            "state_dict": forecaster.model_.state_dict(),
            "scaling": forecaster.scaling_.to_dict(),
            "train_scaling": forecaster.train_scaling_.to_dict(),
            "series": {"ts": s.ts, "ys": s.ys, "names": s.names, "time_name": s.time_name,
                       "time_origin": s.time_origin, "groups": s.groups, "source": s.source},
            "history": forecaster.history_}


def read_forecaster(path) -> dict:
    """The parts :meth:`neuralsde.Forecaster.from_parts` takes: ``params``, ``settings``,
    ``model``, ``scaling``, ``series``, ``train_scaling``, ``history``; and ``members`` (the
    mixture's members' parts, empty for one model) and ``selection``.

    Raises:
        ValueError: naming the file when it is not a forecaster file.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unreadable file is reported the same way
        raise ValueError(f"{path}: not a readable forecaster file ({err}).") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a neuralsde forecaster file (no {FORMAT!r} format).")
    parts = _parts(payload)
    parts["members"] = [_parts(m) for m in payload.get("members") or []]
    parts["selection"] = payload.get("selection")
    return parts


def _parts(payload: dict) -> dict:
    model = build_model(payload["spec"])
    first = next(iter(payload["state_dict"].values()))
    model.to(dtype=first.dtype).load_state_dict(payload["state_dict"])
    data = payload["series"]
    series = TimeSeries(ts=data["ts"], ys=data["ys"], mask=~torch.isnan(data["ys"]),
                        names=data["names"], time_name=data["time_name"],
                        time_origin=data["time_origin"], groups=data["groups"],
                        source=data["source"])
    return {"params": payload["params"], "settings": payload["settings"],
            "model": model.eval(), "scaling": Scaling.from_dict(payload["scaling"]),
            "series": series, "train_scaling": Scaling.from_dict(payload["train_scaling"]),
            "history": payload["history"]}
