"""`neuro serve`: a local web page where a learner draws a digit and watches the network think.

How the parts fit:
  - `served.py`   the network the page talks to: the parameters it answers with (a consistent snapshot), its
                  answers for a drawing, a neuron's weights, the test images mistakes first;
  - `turns.py`    a first-come, first-served lock: backend calls one at a time, none kept waiting for ever;
  - `live.py`     `--train`: the training loop in a background thread, publishing a snapshot between steps;
  - `quick.py`    the quick model served when no MODEL is given, trained once and cached beside the data;
  - `api.py`      the JSON API: requests checked, answers built (no HTTP in it);
  - `server.py`   the HTTP server (the standard library's ThreadingHTTPServer) and the static page;
  - `strokes.py`  the pen strokes of a built-in test digit, for drawing it on the page with a mouse (tests, docs);
  - `static/`     the page itself: plain HTML, CSS and JavaScript, no build step, nothing fetched off the server.
"""
