"""One way to run an exported graph on this CPU: ONNX Runtime or
OpenVINO, float32."""

from typing import Optional


def runtime_session(
    runtime: str,
    onnx_file: str,
    spin: bool = True,
    threads: Optional[int] = None,
):
    """A function running ``onnx_file`` on this CPU in ``runtime``
    (``'onnxruntime'`` or ``'openvino'``, float32) on one input array and
    returning the outputs. ``spin=False``: onnxruntime's idle threads do
    not spin (for timing several graphs in turn). ``threads``: the
    runtime's thread count (default: its own, every core)."""
    if runtime == 'onnxruntime':
        import onnxruntime as ort

        options = ort.SessionOptions()
        if not spin:
            options.add_session_config_entry(
                'session.intra_op.allow_spinning', '0'
            )
        if threads:
            options.intra_op_num_threads = threads
        session = ort.InferenceSession(
            onnx_file, options, providers=['CPUExecutionProvider']
        )
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})
    if runtime == 'openvino':
        import openvino as ov

        # f32: the CPU plugin's default is bf16 where the CPU has it
        config = {'INFERENCE_PRECISION_HINT': 'f32'}
        if threads:
            config['INFERENCE_NUM_THREADS'] = threads
        compiled = ov.Core().compile_model(onnx_file, 'CPU', config)
        request = compiled.create_infer_request()

        def run(x):
            result = request.infer([x])
            return [result[output] for output in compiled.outputs]

        return run
    raise ValueError(
        f"runtime={runtime!r}: expected 'onnxruntime' or 'openvino'"
    )
