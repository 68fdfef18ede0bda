//! Single-cell runs (`glifnet neuron`): AllenSDK GlifNeuron semantics and synthetic inputs.
