"""Small widgets the control panel is built of."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSlider,
    QWidget,
)

from app.engine.live.fields import FloatSetting, SettingsModel


class LabeledSlider(QWidget):
    """A slider over [lo, hi] with `steps` steps and its value shown beside it."""

    valueChanged = Signal(float)

    def __init__(self, lo: float, hi: float, value: float, steps: int = 100, fmt: str = "{:.2f}") -> None:
        super().__init__()
        self.lo, self.hi, self.steps, self.fmt = lo, hi, steps, fmt
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, steps)
        self.label = QLabel()
        self.label.setMinimumWidth(40)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.slider, 1)
        row.addWidget(self.label)
        self.slider.valueChanged.connect(self._moved)
        self.set_value(value)

    def value(self) -> float:
        return self.lo + (self.hi - self.lo) * self.slider.value() / self.steps

    def set_value(self, value: float) -> None:
        self.slider.setValue(round((value - self.lo) / (self.hi - self.lo) * self.steps))
        self.label.setText(self.fmt.format(self.value()))

    def _moved(self, _: int) -> None:
        self.label.setText(self.fmt.format(self.value()))
        self.valueChanged.emit(self.value())


def slider_for(model: SettingsModel, name: str, steps: int = 100, fmt: str = "{:.2f}") -> LabeledSlider:
    """A slider over the declared range of `model`'s float field `name`, at its value."""
    field = model.fields[name]
    assert isinstance(field, FloatSetting), f"{name} is not a number field"
    return LabeledSlider(field.lo, field.hi, getattr(model, name), steps=steps, fmt=fmt)


def section(title: str) -> QLabel:
    label = QLabel(title.upper())
    label.setObjectName("SectionTitle")
    return label
