from tests.helpers import make_app


def test_healthz_reports_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_503_when_the_database_is_unreachable(tmp_path, caplog):
    app = make_app(f"sqlite:///{tmp_path}/no-such-dir/db.sqlite3")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreachable"}
    assert "database unreachable" in caplog.text


def test_an_unknown_page_is_a_404_page_and_an_unknown_api_path_is_json(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert b"404 Not Found" in page.data
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert "detail" in api.get_json()
