"""Figures the paper reports (Table 1), for side-by-side comparison; not measured here."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class PaperFigures:
    params: float
    madds: float
    top1: float
    cpu_ms: float
    gpu_ms: float


TABLE_1 = {
    "muxnet_xs": PaperFigures(1.8e6, 66e6, 66.7, 6.8, 18),
    "mobilenetv3_small": PaperFigures(2.9e6, 66e6, 67.4, 6.2, 14),
    "muxnet_s": PaperFigures(2.4e6, 117e6, 71.6, 9.5, 25),
    "muxnet_m": PaperFigures(3.4e6, 218e6, 75.3, 14.7, 42),
    "mobilenetv3_large": PaperFigures(5.4e6, 219e6, 75.2, 10.0, 33),
    "mobilenetv2": PaperFigures(3.4e6, 300e6, 72.0, 8.3, 23),
    "muxnet_l": PaperFigures(4.0e6, 318e6, 76.6, 19.2, 74),
    "efficientnet_b0": PaperFigures(5.3e6, 390e6, 76.3, 14.4, 46),
}
