"""A small vLLM-compatible scoring endpoint on 127.0.0.1: POST /v1/completions with `prompt_logprobs`.

It serves a local causal LM's real log-probs in vLLM's wire format, so the train job's endpoint
scoring (train/scoring_endpoint.py) is tested over real HTTP without a GPU:

    request  {"model": ..., "prompt": [[ids...], ...] or [ids...], "max_tokens": 1, "prompt_logprobs": k}
    response {"choices": [{"index": i, "text": "", "prompt_logprobs": [null, {"<id>": {"logprob": x,
              "rank": r, "decoded_token": s}, ...}, ...]}, ...]}

Entry p (p >= 1) is the distribution of token p given the tokens before it: the top-k by rank plus
the prompt's own token p (with its true rank) when it is outside the top-k, as vLLM answers. A
`prompt_logprobs` above `max_logprobs` (vLLM's `--max-logprobs`, default 20) is answered 400. Text
prompts are refused (400): this endpoint is for scoring given token ids, never a re-rendered template.
`requests` records every request body (the ledger tests assert on).

    python -m distillery.fakes.vllm_logprobs --model <dir> --port 8001   # Ctrl-C stops
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class BadRequest(Exception):
    pass


class FakeVllmServer:
    """`with FakeVllmServer(model_dir) as server: server.base_url`"""

    def __init__(self, model_dir: str, *, served_name: str | None = None, max_logprobs: int = 20) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.served_name = served_name or model_dir
        self.max_logprobs = max_logprobs
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._http: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._http is not None
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, port: int = 0) -> FakeVllmServer:
        self._http = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._http.daemon_threads = True
        self._http.fake = self  # type: ignore[attr-defined]
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    def __enter__(self) -> FakeVllmServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def completions(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests.append(body)
        k = body.get("prompt_logprobs")
        if not isinstance(k, int) or k < 0:
            raise BadRequest("prompt_logprobs must be a non-negative integer")
        if k > self.max_logprobs:
            raise BadRequest(
                f"Requested prompt logprobs of {k}, which is greater than max allowed: {self.max_logprobs}"
            )
        if body.get("model") != self.served_name:
            raise BadRequest(f"The model `{body.get('model')}` does not exist.")
        prompt = body.get("prompt")
        if isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
            prompt = [prompt]
        if not (isinstance(prompt, list) and prompt and all(isinstance(p, list) and p for p in prompt)):
            raise BadRequest("this endpoint scores token ids: prompt must be a list of token id lists")
        with self._lock:  # one forward at a time: a CPU model gains nothing from concurrency
            choices = [self._choice(index, ids, k) for index, ids in enumerate(prompt)]
        return {"id": "cmpl-fake", "object": "text_completion", "model": self.served_name, "choices": choices}

    def _choice(self, index: int, ids: list[int], k: int) -> dict[str, Any]:
        import torch

        with torch.no_grad():
            logits = self.model(input_ids=torch.tensor([ids])).logits[0, :, : len(self.tokenizer)]
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        entries: list[dict[str, Any] | None] = [None]
        for position in range(1, len(ids)):
            row = logprobs[position - 1]
            order = torch.argsort(row, descending=True)
            wanted = {int(t): rank for rank, t in enumerate(order[:k].tolist(), 1)}
            actual = ids[position]
            if actual not in wanted:
                wanted[actual] = int((row > row[actual]).sum()) + 1
            entries.append(
                {
                    str(t): {
                        "logprob": float(row[t]),
                        "rank": rank,
                        "decoded_token": self.tokenizer.decode([t]),
                    }
                    for t, rank in wanted.items()
                }
            )
        return {"index": index, "text": "", "finish_reason": "length", "prompt_logprobs": entries}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        fake: FakeVllmServer = self.server.fake  # type: ignore[attr-defined]
        if self.path.rstrip("/") != "/v1/completions":
            self._send(404, {"object": "error", "message": f"no route POST {self.path}", "code": 404})
            return
        try:
            body = json.loads(raw or b"{}")
            self._send(200, fake.completions(body))
        except (BadRequest, json.JSONDecodeError) as exc:
            self._send(400, {"object": "error", "message": str(exc), "type": "BadRequestError", "code": 400})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    server = FakeVllmServer(args.model).start(args.port)
    print(f"serving {args.model} at {server.base_url}/v1/completions", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
