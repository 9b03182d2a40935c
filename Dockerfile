# Ultudy Jobs: one image for `ultudy migrate`, `ultudy api` and `ultudy worker`.
# Build: docker build -t ultudy .   Run it with compose.yaml (README: Operations).

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/ultudy
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/ultudy/bin/pip install .

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 ultudy \
    && useradd --system --uid 10001 --gid ultudy --home-dir /var/lib/ultudy --create-home ultudy
COPY --from=build /opt/ultudy /opt/ultudy
ENV PATH=/opt/ultudy/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ULTUDY_DATA_DIR=/var/lib/ultudy \
    ULTUDY_HOST=0.0.0.0 \
    ULTUDY_AUTH=token \
    ULTUDY_LOG_FORMAT=json
USER 10001:10001
WORKDIR /var/lib/ultudy
EXPOSE 8000 9100
# The API's liveness; compose gives worker containers `ultudy check` instead.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/livez', timeout=2)"]
ENTRYPOINT ["ultudy"]
CMD ["api"]
