"""Geometry: the one place that knows the pixel convention, boxes, crops and homographies.

Convention everywhere: continuous coordinates with the origin at the top-left image corner and pixel (i, j)
covering [i, i+1) x [j, j+1), so pixel centres sit at i + 0.5. Boxes are (x, y, w, h) in those coordinates.
Inside the network, crop coordinates are *normalised and centred*: u = q / N - 0.5 for crop pixel
coordinate q of an N-pixel crop, so the crop spans [-0.5, 0.5] and its centre is 0.
"""
