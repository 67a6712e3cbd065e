"""Everything that imports PySide6 or pyqtgraph: the main window, timeline tracks, video view, worker."""
