"""The original approach, kept only as the benchmark's baseline: FastAPI plus a
transformers `pipeline`, one tweet per call, `GET /predict/?tweet=...`.

Run: MODEL_DIR=models/finetuned uvicorn benchmarks.original_app:app --port 8000
"""

import os

from fastapi import FastAPI
from transformers import pipeline

classifier = pipeline("text-classification", model=os.environ.get("MODEL_DIR", "models/finetuned"), device="cpu")
app = FastAPI()


@app.get("/predict/")
def predict(tweet: str) -> dict[str, str]:
    result = classifier(tweet)[0]
    label_id = classifier.model.config.label2id[result["label"]]
    return {"pred_id": str(label_id), "pred_label": result["label"]}
