from flask_babel import gettext


class PlanNotFound(LookupError):
    def __init__(self, plan_id: str):
        self.plan_id = plan_id
        # In the request's language: the JSON API's requests are always English.
        super().__init__(gettext("Plan '%(id)s' not found", id=plan_id))
