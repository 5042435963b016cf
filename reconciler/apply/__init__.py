"""`reconcile apply`: executes a Plan as progressive rollouts (waves, health gates,
failure budget, rollback) with writes that survive faults and crashes without duplicates."""
