# The ai-roadmap prediction service: FastAPI under Gunicorn + Uvicorn workers, port 8000.
#
#   ROADMAP_SERVE_MODEL_DIR=build/models roadmap serve --export-only   # the @champion models
#   docker build -t ai-roadmap-serve .
#   docker run --rm -p 127.0.0.1:8000:8000 ai-roadmap-serve
#
# The image holds the `serve` extra of pyproject.toml and the project (--no-deps): no MLflow,
# no torch, no training-only libraries. See docs/serving.md.

ARG PYTHON_IMAGE=python:3.11-slim

# ── builder: a venv with the serve extra, pruned, checked against the models ─────────────────
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# build/wheels/ (optional): a wheelhouse for building without a package index
COPY build/ /build/
# the serve extra, read from pyproject.toml, then the project itself without its dependencies
RUN python -m venv /venv \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['serve']))" > /tmp/serve.txt \
 && if ls /build/wheels/*.whl >/dev/null 2>&1; then set -- --no-index --find-links /build/wheels; fi \
 && /venv/bin/pip install --no-cache-dir --no-compile "$@" -r /tmp/serve.txt \
 && /venv/bin/pip install --no-cache-dir --no-compile "$@" --no-deps /src \
 && /venv/bin/python -c "from ai_roadmap.serving.venv import prune_venv; prune_venv('/venv')"
# exported by `roadmap serve --export-only` (model_card.json, fast.json + fast.npz, model.joblib,
# VERSION per model): the service predicts through fast.* with NumPy alone
RUN cp -r /build/models /models
ARG MODELS=titanic,churn,house
# fail the build, not the first request, when a model needs a module the venv lacks
RUN chmod -R a=rX /models \
 && ROADMAP_SERVE_MODEL_DIR=/models ROADMAP_SERVE_MODELS=${MODELS} /venv/bin/python -c "from ai_roadmap.serving.app import read_served; from ai_roadmap.settings import get_settings; [m.load() for m in read_served(get_settings()).values()]"

# ── runtime: the venv and the models, run as an unprivileged user ────────────────────────────
FROM ${PYTHON_IMAGE}
ARG MODELS=titanic,churn,house
LABEL org.opencontainers.image.title="ai-roadmap prediction service"
RUN groupadd --gid 10001 app \
 && useradd --no-log-init --create-home --uid 10001 --gid app --shell /usr/sbin/nologin app \
 && install -d -o app -g app /tmp/prometheus
COPY --from=builder /venv /venv
COPY --from=builder /models /models
# one BLAS/OpenMP thread per worker: Gunicorn's processes are the parallelism
ENV PATH=/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    ROADMAP_SERVE_MODEL_DIR=/models \
    ROADMAP_SERVE_MODELS=${MODELS} \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
# numeric, so that a runtime can check runAsNonRoot without reading /etc/passwd
USER 10001:10001
WORKDIR /home/app
EXPOSE 8000
# no curl in the slim image: Python asks /healthz
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["gunicorn", "-k", "uvicorn_worker.UvicornWorker", "-w", "2", "-b", "0.0.0.0:8000", \
     "--graceful-timeout", "5", "ai_roadmap.serving.app:create_app()"]
