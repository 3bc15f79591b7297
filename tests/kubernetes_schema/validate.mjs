// Validates Kubernetes objects (a JSON array on stdin) against the prometheus-operator's CRD
// schemas and Kubernetes' own, as published in the npm packages pinned by package-lock.json.
// Prints a JSON array: for each object, its kind and name, and the schema's complaint or null.
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { AlertmanagerConfig } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1/AlertmanagerConfig";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";

const MODELS = {
  "monitoring.coreos.com/v1 PrometheusRule": PrometheusRule,
  "monitoring.coreos.com/v1 ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1 PodMonitor": PodMonitor,
  "monitoring.coreos.com/v1alpha1 AlertmanagerConfig": AlertmanagerConfig,
  "v1 ConfigMap": ConfigMap,
};

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map((object) => {
  const Model = MODELS[`${object.apiVersion} ${object.kind}`];
  const result = { kind: object.kind, name: object.metadata?.name ?? null, error: null };
  if (!Model) {
    result.error = `no schema for ${object.apiVersion} ${object.kind}`;
  } else {
    try {
      new Model(object).validate();
    } catch (error) {
      result.error = String(error.message ?? error);
    }
  }
  return result;
});
process.stdout.write(JSON.stringify(results));
