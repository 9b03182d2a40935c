from ultudy.cli import app

app()
