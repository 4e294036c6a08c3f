// What the page holds between events, shared by its modules.

export const state = {
  model: null,
  drawingVersion: 0,       // bumped on every change of the pad
  inFlight: false,
  showing: "nothing",      // "drawing", "test" (a test image is on the pad) or "nothing"
  testPosition: -1,
  selected: null,          // {layer, neuron} whose weights are shown
  trainingVersion: -1,
  neurons: [],             // neurons[l][j]: the element of neuron j of layer l (0 = input)
  outputs: [],             // the output rows
  layerWeights: [],        // layerWeights[l]: the weight matrix into layer l (for the wires), l >= 2
  lastLayers: null,        // the activations shown, for redrawing the wires
};
