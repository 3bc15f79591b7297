"""What obsgen can generate, independent of any config: the PromQL vocabulary and KPIs
(``promql``) and the alert catalogue (``alerts``). Imports only the llmobs schema."""
