{{/* The alert rules (`groups:`), rendered into the PrometheusRule; tests run them through promtool. */}}
{{- define "distillery.alertGroups" -}}
{{- $labels := .Values.prometheusRule.alertLabels -}}
groups:
  - name: distillery.runs
    rules:
      - alert: DistilleryRunFailed
        expr: distillery_run_phase{phase="Failed"} == 1
        for: {{ .Values.prometheusRule.failedFor }}
        labels:
          severity: warning
          {{- with $labels }}
          {{- toYaml . | nindent 10 }}
          {{- end }}
        annotations:
          summary: "DistillationRun {{`{{ $labels.namespace }}/{{ $labels.run }}`}} failed"
          description: >-
            The run's current attempt failed. `kubectl distill status {{`{{ $labels.run }}`}} -n
            {{`{{ $labels.namespace }}`}}` shows the failed phase and the container's message; fix
            the spec or annotate distillery.dev/rerun to try again.
      - alert: DistilleryRunStuck
        expr: |-
          (time() - distillery_run_phase_start_timestamp_seconds) > {{ .Values.prometheusRule.stuckPhaseSeconds }}
          and on (namespace, run)
          (max by (namespace, run) (distillery_run_phase{phase=~"Pending|Collecting|Curating|Training|Evaluating|Sweeping|Publishing"}) == 1)
        for: 5m
        labels:
          severity: warning
          {{- with $labels }}
          {{- toYaml . | nindent 10 }}
          {{- end }}
        annotations:
          summary: "DistillationRun {{`{{ $labels.namespace }}/{{ $labels.run }}`}} is stuck in one phase"
          description: >-
            The run has been in its current phase for {{`{{ $value | humanizeDuration }}`}} (threshold
            {{ .Values.prometheusRule.stuckPhaseSeconds }} s). A JobNotStarted condition means
            its Job's pods cannot be scheduled (quota, GPUs, image): `kubectl distill status
            {{`{{ $labels.run }}`}} -n {{`{{ $labels.namespace }}`}}`.
      - alert: DistilleryBudgetExceeded
        expr: distillery_run_budget_exceeded == 1
        labels:
          severity: info
          {{- with $labels }}
          {{- toYaml . | nindent 10 }}
          {{- end }}
        annotations:
          summary: "DistillationRun {{`{{ $labels.namespace }}/{{ $labels.run }}`}} hit its teacher budget"
          description: >-
            Collection stopped at spec.teacher.budget: the run continues with what was collected
            (BudgetExceeded), or fails when nothing was (NothingCollected). Raise the budget or
            shrink the prompts.
  - name: distillery.operator
    rules:
      - alert: DistilleryReconcileErrors
        expr: rate(distillery_reconcile_errors_total[5m]) > 0
        for: {{ .Values.prometheusRule.reconcileErrorsFor }}
        labels:
          severity: warning
          {{- with $labels }}
          {{- toYaml . | nindent 10 }}
          {{- end }}
        annotations:
          summary: The Distillery operator keeps failing reconcile passes
          description: >-
            Reconcile passes hit API errors for {{ .Values.prometheusRule.reconcileErrorsFor }}
            ({{`{{ $value | humanize }}`}}/s): read the operator's log; a 403 means its RBAC is
            missing a rule.
{{- end -}}
