# The deployable image: the official Apache Airflow image of the pinned version with the project installed from
# the committed lock. One image for every service (api-server, scheduler, dag-processor, triggerer, workers, init).
#   docker build -t proactive-crm:$(git rev-parse --short HEAD) .
FROM apache/airflow:3.3.2-python3.11

ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/proactive-crm/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    PYTHONPATH=/opt/proactive-crm \
    CRM_STATE_DIR=/opt/airflow/crm-state \
    CRM_CONFIG=/opt/proactive-crm/config/pipeline.yml

# The project folder belongs to the image's airflow user (uid 50000, group 0, as the official image expects).
USER 0
RUN mkdir -p /opt/proactive-crm /opt/airflow/crm-state \
    && chown -R 50000:0 /opt/proactive-crm /opt/airflow/crm-state
USER 50000
WORKDIR /opt/proactive-crm

# Dependencies first: this layer changes only with the lock. The base image holds apache-airflow 3.3.2 and the lock
# pins the same version, so pip keeps Airflow as it is and adds dbt, Great Expectations, xgboost and the rest.
COPY --chown=50000:0 requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt

COPY --chown=50000:0 pyproject.toml README.md ./
COPY --chown=50000:0 proactive_crm ./proactive_crm
COPY --chown=50000:0 ml ./ml
COPY --chown=50000:0 expectations ./expectations
COPY --chown=50000:0 dags ./dags
COPY --chown=50000:0 dbt_project ./dbt_project
COPY --chown=50000:0 config ./config
RUN pip install --no-cache-dir --no-deps -e .
