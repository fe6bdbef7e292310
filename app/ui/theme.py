"""The panel's look: a dark, calm theme with one accent colour."""

ACCENT = "#4f8cff"

STYLESHEET = f"""
QWidget {{ background: #16181d; color: #e6e8ec; font-size: 10pt; }}
QMainWindow::separator {{ background: #23262d; width: 1px; }}
QLabel#SectionTitle {{ color: #9aa3b2; font-size: 8.5pt; font-weight: 600; letter-spacing: 1px;
    padding: 10px 0 4px 0; }}
QLabel#Hint {{ color: #9aa3b2; font-size: 9pt; }}
QLabel#Warning {{ color: #ffcf70; background: #2d2616; border-radius: 6px; padding: 6px 8px; }}
QFrame#Card {{ background: #1d2026; border-radius: 10px; }}
QFrame#Card QLabel, QFrame#Card QCheckBox, QFrame#Card QSlider, QFrame#Card LabeledSlider {{ background: transparent; }}
QPushButton {{ background: #262a32; border: 1px solid #323743; border-radius: 6px; padding: 5px 12px; }}
QPushButton:hover {{ border-color: {ACCENT}; }}
QPushButton:checked {{ background: {ACCENT}; border-color: {ACCENT}; color: white; }}
QPushButton#Record:checked {{ background: #e5484d; border-color: #e5484d; }}
QComboBox, QLineEdit, QDoubleSpinBox, QSpinBox {{ background: #20232a; border: 1px solid #323743;
    border-radius: 6px; padding: 4px 6px; }}
QSlider::groove:horizontal {{ height: 4px; background: #323743; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: #e6e8ec; width: 14px; margin: -6px 0; border-radius: 7px; }}
QListWidget#Gallery {{ background: transparent; border: none; }}
QListWidget#Gallery::item {{ border-radius: 8px; padding: 4px; margin: 2px; color: #c9ced8; }}
QListWidget#Gallery::item:selected {{ background: #263250; border: 2px solid {ACCENT}; }}
QStatusBar {{ background: #101216; color: #9aa3b2; }}
QStatusBar::item {{ border: none; }}
QLabel#StatusProblem {{ color: #ffcf70; background: #3a2f14; border-radius: 4px; padding: 1px 8px; }}
QLabel#StatusNote {{ color: #ffcf70; background: transparent; padding: 1px 8px; }}
QScrollArea {{ border: none; }}
QCheckBox::indicator {{ width: 16px; height: 16px; border: 1px solid #4a505c; border-radius: 4px;
    background: #20232a; }}
QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; }}
QScrollBar:horizontal {{ height: 8px; background: transparent; }}
QScrollBar:vertical {{ width: 8px; background: transparent; }}
QScrollBar::handle {{ background: #3a3f4a; border-radius: 4px; min-width: 30px; min-height: 30px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
"""
