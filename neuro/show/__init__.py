"""What the network holds, shown: pictures as arrays of pixels (raster), in the terminal (terminal), and as PNG
files and plots (charts)."""
