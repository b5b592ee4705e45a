"""The size sweep's last step: compare the candidates and choose the run's student."""
